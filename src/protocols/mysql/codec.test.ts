// Codec round trips: packet framing across chunks and past 16 MiB, length-encoded values, the greeting and
// handshake response the front and the upstream leg exchange, and the scrambles against known answers.
import { describe, expect, test } from "bun:test";
import { MAX_PAYLOAD, PacketReader, packet, Reader, Writer } from "./codec.ts";
import {
  CACHING_SHA2,
  greetingPayload,
  handshakeResponsePayload,
  isSslRequest,
  nativeScramble,
  parseGreeting,
  parseHandshakeResponse,
  sslRequestPayload,
} from "./handshake.ts";
import { textRowValues } from "./result-set.ts";

describe("framing", () => {
  test("packets split across chunks are framed once complete, in order", () => {
    const r = new PacketReader(1 << 20);
    const bytes = new Uint8Array([
      ...packet(0, new Uint8Array([3, 65, 66])),
      ...packet(1, new Uint8Array([7])),
    ]);
    expect(r.push(bytes.subarray(0, 5))).toEqual([]);
    const out = r.push(bytes.subarray(5));
    expect(out.map((p) => [p.seq, [...p.payload]])).toEqual([
      [0, [3, 65, 66]],
      [1, [7]],
    ]);
  });
  test("a payload of 16 MiB or more continues in further packets and is joined", () => {
    const big = new Uint8Array(MAX_PAYLOAD + 10).fill(7);
    const wire = packet(4, big);
    expect(wire.length).toBe(big.length + 8);
    const [p] = new PacketReader(64 << 20).push(wire);
    expect(p!.payload.length).toBe(big.length);
    expect([p!.seq, p!.parts]).toEqual([4, 2]);
  });
  test("a declared length past the bound is refused before it is buffered", () => {
    expect(() => new PacketReader(1024).push(new Uint8Array([0xff, 0xff, 0x00, 0]))).toThrow(RangeError);
  });
  test("the first packet alone is framed when asked (a ClientHello may follow the SSLRequest)", () => {
    const r = new PacketReader(1024);
    r.remaining = 1;
    const out = r.push(new Uint8Array([...packet(1, sslRequestPayload(0x200)), 0x16, 0x03, 0x01, 0xff]));
    expect(out.length).toBe(1);
    expect(isSslRequest(out[0]!.payload)).toBe(true);
    expect([...r.take()]).toEqual([0x16, 0x03, 0x01, 0xff]);
  });
});

describe("values", () => {
  test("length-encoded integers round-trip at each width", () => {
    for (const n of [0, 250, 251, 65535, 65536, 16777215, 16777216, 2 ** 40]) {
      expect(new Reader(new Writer().lenenc(n).end()).lenenc()).toBe(n);
    }
  });
  test("text rows: values and NULLs", () => {
    const row = new Writer()
      .lenencBytes(new TextEncoder().encode("ab"))
      .int1(0xfb)
      .lenencBytes(new Uint8Array(0))
      .end();
    expect(textRowValues(row, 3)).toEqual([[1, 3], null, [5, 5]]);
    expect(() => textRowValues(row, 2)).toThrow(RangeError);
  });
});

describe("connection phase", () => {
  test("the front's greeting parses as a client reads it", () => {
    const scramble = new Uint8Array(20).fill(0x41);
    const g = parseGreeting(
      greetingPayload({ version: "5.7.19-x", connectionId: 9, scramble, status: 2, plugin: CACHING_SHA2 }),
    );
    expect([g.version, g.connectionId, g.plugin, [...g.scramble]]).toEqual([
      "5.7.19-x",
      9,
      CACHING_SHA2,
      [...scramble],
    ]);
  });
  test("a handshake response round-trips (user, auth, database, plugin)", () => {
    const caps = 0x200 | 0x8000 | 0x80000 | 0x200000 | 0x8;
    const r = parseHandshakeResponse(
      handshakeResponsePayload({
        capabilities: caps,
        user: "app",
        auth: new Uint8Array([1, 2]),
        database: "loans",
        plugin: "mysql_native_password",
      }),
    );
    expect([r.user, [...r.auth], r.database, r.plugin]).toEqual([
      "app",
      [1, 2],
      "loans",
      "mysql_native_password",
    ]);
  });
  test("mysql_native_password answers as the server checks it", () => {
    // SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))) for pw "secret", scramble 20 x 'a' (Python hashlib).
    const out = nativeScramble("secret", new Uint8Array(20).fill(0x61));
    expect(Buffer.from(out).toString("hex")).toBe("512ae2a4d1572c011140a7362190e07e79eb03d2");
    expect(nativeScramble("", new Uint8Array(20)).length).toBe(0);
  });
});
