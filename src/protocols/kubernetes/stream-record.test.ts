import { expect, test } from "bun:test";
import type { Frame } from "../../core/frame.ts";
import type { GatewaySession } from "../../core/session.ts";
import { MaskingEngine } from "../../masking/engine.ts";
import { responseMaskPlan } from "./mask.ts";
import { streamRecorder } from "./stream-record.ts";
import { encodeFrame, OP_BINARY, OP_PING, WsFrameParser } from "./ws-codec.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function fakeSession() {
  const frames: Frame[] = [];
  const session = {
    record: (f: Frame) => frames.push(f),
    recordBytes: (dir: Frame["dir"], t: number, kind: string, bytes: Uint8Array) =>
      frames.push({ t, dir, kind, data: { bytes } }),
  } as unknown as GatewaySession;
  return { session, frames };
}

const message = (channel: number, text: string) =>
  encodeFrame(OP_BINARY, new Uint8Array([channel, ...enc.encode(text)]));

test("exec output is masked message by message for a masked caller; the recording holds what it got", () => {
  const { session, frames } = fakeSession();
  const plan = responseMaskPlan(new MaskingEngine(), [{ detector: "ssn", method: "redact" }], true, false);
  const r = streamRecorder({
    session,
    kind: "websocket",
    protocol: "v5.channel.k8s.io",
    plan,
    maxFrame: 1 << 20,
  });
  const upstream = new Uint8Array([
    ...message(1, "id 123-45-6789 ok\n"),
    ...encodeFrame(OP_PING, new Uint8Array(0)),
    ...message(2, "warn 234-56-7891\n"),
    ...message(3, '{"status":"Success"}'),
  ]);
  const forwarded = r.push("server", upstream);
  const got = new WsFrameParser(false, 1 << 20).push(forwarded);
  expect(got.map((f) => f.opcode)).toEqual([OP_BINARY, OP_PING, OP_BINARY, OP_BINARY]);
  const text = got.map((f) => dec.decode(f.payload.subarray(1))).join("");
  expect(text).not.toContain("123-45-6789");
  expect(text).not.toContain("234-56-7891");
  expect(text).toContain(" ok\n");
  expect(frames.map((f) => f.kind)).toEqual(["stdout", "stderr", "status"]);
  expect(JSON.stringify(frames)).not.toContain("123-45-6789");
  expect(r.outcome().detail.exit_code).toBe(0);
});

test("an unmasked caller's stream is forwarded byte for byte and parsed for the recording only", () => {
  const { session, frames } = fakeSession();
  const r = streamRecorder({
    session,
    kind: "websocket",
    protocol: "v4.channel.k8s.io",
    plan: null,
    maxFrame: 1 << 20,
  });
  const bytes = new Uint8Array([...message(1, "hello"), ...message(1, " world")]);
  // Split mid-frame: the first push forwards its bytes at once, whatever the parser still holds.
  expect(r.push("server", bytes.subarray(0, 4))).toEqual(bytes.subarray(0, 4));
  expect(r.push("server", bytes.subarray(4))).toEqual(bytes.subarray(4));
  expect(frames.map((f) => dec.decode((f.data as { bytes: Uint8Array }).bytes))).toEqual(["hello", " world"]);
});

test("bad framing from the client ends the stream (the relay closes both sides)", () => {
  const { session } = fakeSession();
  const r = streamRecorder({
    session,
    kind: "websocket",
    protocol: "v5.channel.k8s.io",
    plan: null,
    maxFrame: 64,
  });
  // Unmasked client frame: forbidden by RFC 6455 §5.1.
  expect(() => r.push("client", message(0, "x"))).toThrow();
});

test("a value split across two output messages is still masked; what was held goes out before the status", () => {
  const { session, frames } = fakeSession();
  const plan = responseMaskPlan(new MaskingEngine(), [{ detector: "ssn", method: "redact" }], true, false);
  const r = streamRecorder({
    session,
    kind: "websocket",
    protocol: "v5.channel.k8s.io",
    plan,
    maxFrame: 1 << 20,
  });
  const forwarded = [
    r.push("server", message(1, "customer 123-45")),
    r.push("server", message(1, "-6789 on file, prompt$ ")),
    r.push("server", message(3, '{"status":"Success"}')),
  ];
  const got = forwarded.flatMap((b) => new WsFrameParser(false, 1 << 20).push(b));
  const stdout = got
    .filter((f) => f.payload[0] === 1)
    .map((f) => dec.decode(f.payload.subarray(1)))
    .join("");
  expect(stdout).not.toContain("123-45-6789");
  expect(stdout).not.toContain("6789");
  expect(stdout).toContain("customer ");
  // The tail without a line break was held, then released ahead of the status message.
  expect(stdout).toContain("on file, prompt$ ");
  expect(got.at(-1)!.payload[0]).toBe(3);
  expect(JSON.stringify(frames)).not.toContain("6789");
  // The look-alike: an unmasked caller's split value passes untouched.
  const plain = streamRecorder({
    ...fakeSession(),
    kind: "websocket",
    protocol: "v5.channel.k8s.io",
    plan: null,
    maxFrame: 1 << 20,
  });
  const raw = message(1, "customer 123-45");
  expect(plain.push("server", raw)).toEqual(raw);
});
