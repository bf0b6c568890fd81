import { describe, expect, test } from "bun:test";
import {
  FXP,
  MAX_PACKET,
  PacketFramer,
  packetId,
  packetType,
  Reader,
  statusPacket,
  withPaths,
} from "./sftp-codec.ts";

const enc = new TextEncoder();
function packet(type: number, id: number, ...strings: string[]): Uint8Array {
  const body = strings.map((s) => {
    const b = enc.encode(s);
    const out = new Uint8Array(4 + b.length);
    new DataView(out.buffer).setUint32(0, b.length);
    out.set(b, 4);
    return out;
  });
  const len = 1 + 4 + body.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(4 + len);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, len);
  out[4] = type;
  dv.setUint32(5, id);
  let at = 9;
  for (const b of body) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

describe("SFTP framing and fields", () => {
  test("packets split anywhere are reassembled whole, in order", () => {
    const a = packet(FXP.REMOVE, 1, "/tmp/a");
    const b = packet(FXP.RENAME, 2, "/tmp/a", "/tmp/b");
    const stream = new Uint8Array([...a, ...b]);
    for (let cut = 1; cut < stream.length; cut++) {
      const f = new PacketFramer();
      const got = [...f.push(stream.subarray(0, cut)), ...f.push(stream.subarray(cut))];
      expect(got.map((p) => [packetType(p), packetId(p)])).toEqual([
        [FXP.REMOVE, 1],
        [FXP.RENAME, 2],
      ]);
    }
  });

  test("a length past the bound (or zero) is refused before buffering", () => {
    const huge = new Uint8Array(8);
    new DataView(huge.buffer).setUint32(0, MAX_PACKET + 1);
    expect(() => new PacketFramer().push(huge)).toThrow(/out of bounds/);
    expect(() => new PacketFramer().push(new Uint8Array(4))).toThrow(/out of bounds/);
  });

  test("truncated strings and invalid UTF-8 paths are malformed", () => {
    const p = packet(FXP.OPEN, 3, "/tmp/x");
    const cut = p.slice(0, p.length - 2);
    const r = new Reader(cut);
    r.u32();
    expect(() => r.string()).toThrow(/truncated/);
    const bad = packet(FXP.REMOVE, 4, "x");
    bad[bad.length - 1] = 0xff;
    const rb = new Reader(bad);
    rb.u32();
    expect(() => rb.string()).toThrow();
  });

  test("paths are rewritten to the decided form, the rest kept; STATUS replies carry the message", () => {
    const p = packet(FXP.RENAME, 9, "/tmp/sub/../a", "/tmp//b");
    const q = withPaths(p, ["/tmp/a", "/tmp/b"]);
    const r = new Reader(q);
    expect(r.u32()).toBe(9);
    expect([r.string(), r.string()]).toEqual(["/tmp/a", "/tmp/b"]);
    expect(r.at).toBe(q.length);
    const s = new Reader(statusPacket(7, 3, "denied"));
    expect(packetType(statusPacket(7, 3, "denied"))).toBe(FXP.STATUS);
    expect([s.u32(), s.u32(), s.string(), s.string()]).toEqual([7, 3, "denied", ""]);
  });
});
