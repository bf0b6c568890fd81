import { describe, expect, test } from "bun:test";
import { ByteSink } from "./canonical.ts";
import { writeBytesFrame, writeFrame } from "./codec.ts";
import { FrameSink, OWN_PART_BYTES } from "./recorder-frames.ts";

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const join = (parts: Uint8Array[]) => Buffer.concat(parts);

describe("FrameSink", () => {
  test("its parts joined are byte for byte one ByteSink's frames, long payloads as parts of their own", () => {
    const sizes = [10, OWN_PART_BYTES - 1, OWN_PART_BYTES, 70_000, 5, 300_000, 0, OWN_PART_BYTES + 1];
    const plain = new ByteSink(2048);
    const parted = new FrameSink(2048);
    sizes.forEach((n, i) => {
      const payload = bytes(n, i);
      writeBytesFrame(plain, 1_700_000_000_000_000 + i, i % 2 ? "server" : "client", "bytes", payload);
      writeBytesFrame(parted, 1_700_000_000_000_000 + i, i % 2 ? "server" : "client", "bytes", payload);
      // A frame written whole (writeCanonical) between them, and a secret kind, which never takes the fast path.
      writeFrame(plain, { t: i, dir: "client", kind: "Query", data: { text: "select 1" } });
      writeFrame(parted, { t: i, dir: "client", kind: "Query", data: { text: "select 1" } });
    });
    writeBytesFrame(plain, 9, "client", "PasswordMessage", bytes(5000, 1));
    writeBytesFrame(parted, 9, "client", "PasswordMessage", bytes(5000, 1));
    const parts = parted.parts();
    expect(join(parts).equals(Buffer.from(plain.written()))).toBe(true);
    // The four payloads of at least OWN_PART_BYTES are parts of their own, each exactly its size.
    const own = parts.filter((p) => p.buffer !== parted.bytes.buffer);
    expect(own.map((p) => p.byteLength)).toEqual([OWN_PART_BYTES, 70_000, 300_000, OWN_PART_BYTES + 1]);
    // The buffer of small fields never grew to hold the payloads.
    expect(parted.bytes.byteLength).toBeLessThan(16_384);
  });

  test("a part is a copy: the caller may reuse its buffer at once", () => {
    const sink = new FrameSink(2048);
    const payload = bytes(10_000, 3);
    const expected = Buffer.from(payload);
    writeBytesFrame(sink, 1, "server", "bytes", payload);
    payload.fill(0);
    const plain = new ByteSink(2048);
    writeBytesFrame(plain, 1, "server", "bytes", expected);
    expect(join(sink.parts()).equals(Buffer.from(plain.written()))).toBe(true);
  });

  test("a Node Buffer's payload is copied too (Buffer#slice would be a view of the socket's memory)", () => {
    const pool = Buffer.alloc(20_000, 7);
    const payload = pool.subarray(100, 10_100);
    const sink = new FrameSink(2048);
    writeBytesFrame(sink, 1, "server", "bytes", payload);
    const own = sink.parts().filter((p) => p.buffer !== sink.bytes.buffer);
    expect(own).toHaveLength(1);
    expect(own[0]!.buffer).not.toBe(pool.buffer);
    expect(own[0]!.byteOffset).toBe(0);
    expect(own[0]!.buffer.byteLength).toBe(10_000);
  });

  test("no long payload: one part, the buffer's view", () => {
    const sink = new FrameSink(2048);
    writeBytesFrame(sink, 1, "client", "bytes", bytes(100, 1));
    expect(sink.parts()).toHaveLength(1);
  });
});
