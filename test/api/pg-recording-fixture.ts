// A PostgreSQL session recording as the gateway stores it: `pg.stream` byte chunks cut at arbitrary places
// (messages split across chunks and batches), grouped into batches. Deterministic for a seed.
import type { Frame } from "../../src/core/frame.ts";
import { Writer } from "../../src/protocols/postgres/codec.ts";
import { STREAM_KIND } from "../../src/protocols/postgres/recording.ts";

export interface FixtureOptions {
  /** How many query exchanges. */
  exchanges: number;
  /** Most rows one query returns. */
  maxRows?: number;
  /** Add messages the framer or the decoders refuse (bad length, truncated DataRow). */
  malformed?: boolean;
  /** Frames per batch, at most. */
  maxBatch?: number;
  /** Largest chunk cut from a stream. */
  maxChunk?: number;
}

/** Mulberry32: small, seeded, good enough to scatter cuts. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const text = (n: number, r: () => number) => "x".repeat(Math.floor(r() * n));

function messages(opts: FixtureOptions, r: () => number): [Frame["dir"], Uint8Array][] {
  const out: [Frame["dir"], Uint8Array][] = [];
  const client = (m: Uint8Array) => out.push(["client", m]);
  const server = (m: Uint8Array) => out.push(["server", m]);
  for (let q = 0; q < opts.exchanges; q++) {
    const sql = `select ${q}, '${text(40, r)}'`;
    if (r() < 0.3) {
      client(new Writer().cstring("").cstring(sql).int16(0).finish("P"));
      client(
        new Writer()
          .cstring("")
          .cstring("")
          .int16(0)
          .int16(1)
          .int32(2)
          .bytes(Buffer.from("42"))
          .int16(0)
          .finish("B"),
      );
      client(new Writer().cstring("").int32(0).finish("E"));
      client(new Writer().finish("S"));
      server(new Writer().finish("1"));
      server(new Writer().finish("2"));
    } else {
      client(new Writer().cstring(sql).finish("Q"));
    }
    server(
      new Writer()
        .int16(2)
        .cstring("n")
        .int32(0)
        .int16(0)
        .int32(23)
        .int16(4)
        .int32(-1)
        .int16(0)
        .cstring("v")
        .int32(0)
        .int16(0)
        .int32(25)
        .int16(-1)
        .int32(-1)
        .int16(0)
        .finish("T"),
    );
    const rows = Math.floor(r() * (opts.maxRows ?? 20));
    for (let i = 0; i < rows; i++) {
      // Now and then a row far bigger than a chunk, so one message spans many chunks and batches.
      const v = Buffer.from(r() < 0.02 ? text(6000, r) : text(60, r));
      server(
        new Writer()
          .int16(2)
          .int32(String(i).length)
          .bytes(Buffer.from(String(i)))
          .int32(v.length)
          .bytes(v)
          .finish("D"),
      );
    }
    if (opts.malformed && r() < 0.05) {
      // A DataRow claiming more values than it holds: the decoder throws, the framer stays aligned.
      server(new Writer().int16(3).int32(1).byte(0x31).finish("D"));
    }
    server(new Writer().cstring(`SELECT ${rows}`).finish("C"));
    server(new Writer().byte(0x49).finish("Z"));
    if (opts.malformed && r() < 0.02) {
      // A length below 4: the framer gives up on the rest of that chunk.
      client(Uint8Array.from([0x51, 0, 0, 0, 2]));
    }
  }
  client(new Writer().finish("X"));
  return out;
}

/** The stored batches, each a list of frames, in batch order. */
export function pgRecording(seed: number, opts: FixtureOptions): Frame[][] {
  const r = prng(seed);
  const maxChunk = opts.maxChunk ?? 700;
  const pending = { client: [] as Uint8Array[], server: [] as Uint8Array[] };
  const chunks: Frame[] = [];
  let t = 1_700_000_000_000_000;
  const cut = (dir: Frame["dir"], all: boolean) => {
    let buf = Buffer.concat(pending[dir]);
    pending[dir] = [];
    while (buf.length > 0) {
      const n = all ? Math.min(buf.length, 1 + Math.floor(r() * maxChunk)) : 1 + Math.floor(r() * buf.length);
      chunks.push({ t: t++, dir, kind: STREAM_KIND, data: { bytes: new Uint8Array(buf.subarray(0, n)) } });
      buf = buf.subarray(n);
      if (!all && r() < 0.5) break;
    }
    if (buf.length > 0) pending[dir] = [buf];
  };
  for (const [dir, m] of messages(opts, r)) {
    pending[dir].push(m);
    if (r() < 0.3) cut(dir, false);
    // Now and then a frame that is not a byte stream (an HTTP-style decoded frame): passed through as is.
    if (r() < 0.005) chunks.push({ t: t++, dir: "server", kind: "Note", data: { text: "aside" } });
  }
  cut("client", true);
  cut("server", true);
  const batches: Frame[][] = [];
  for (let i = 0; i < chunks.length; ) {
    const n = 1 + Math.floor(r() * (opts.maxBatch ?? 6));
    batches.push(chunks.slice(i, i + n));
    i += n;
  }
  return batches;
}
