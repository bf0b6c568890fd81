// Recording cost on the hot path: what the gateway's thread does per relayed statement (its statement event
// and the two byte-stream frames written into the buffer that is transferred to the recorder worker), and
// PostgreSQL messages turned into frames (frames.ts) and encoded in batches (audit/codec.ts encodeFrames).
// Run: bun bench/micro/msgpack-frames.ts
import { do_not_optimize } from "mitata";
import { ByteSink } from "../../src/audit/canonical.ts";
import { encodeFrames, writeBytesFrame, writeEvent } from "../../src/audit/codec.ts";
import type { Frame } from "../../src/core/frame.ts";
import { commandComplete, query, readyForQuery, Writer } from "../../src/protocols/postgres/codec.ts";
import { frameClient, frameServer } from "../../src/protocols/postgres/frames.ts";
import { type MicroRow, micro, microTable } from "./measure.ts";

const enc = new TextEncoder();
const row = (i: number) => {
  const w = new Writer().int16(3);
  for (const v of [String(i), `name ${i}`, `${i}.25`]) {
    const b = enc.encode(v);
    w.int32(b.length).bytes(b);
  }
  return w.finish("D");
};

/** One pgbench select-only exchange: Query, DataRow, CommandComplete, ReadyForQuery. */
const exchange = [
  [0x51, query("SELECT abalance FROM pgbench_accounts WHERE aid = 4242;"), "client"],
  [0x44, row(1), "server"],
  [0x43, commandComplete("SELECT 1"), "server"],
  [0x5a, readyForQuery("I"), "server"],
] as const;

export async function run(): Promise<MicroRow[]> {
  const t = Date.now() * 1000;
  const frames: Frame[] = [];
  for (let i = 0; i < 256; i++) {
    for (const [type, m, dir] of exchange) {
      const f = dir === "client" ? frameClient(type, m, t) : frameServer(type, m, t);
      if (f) frames.push(f);
    }
  }
  const wide: Frame[] = Array.from({ length: 1000 }, (_, i) => frameServer(0x44, row(i), t)!);
  const sink = new ByteSink(1 << 20);
  const clientBytes = exchange[0][1];
  const serverBytes = Buffer.concat(exchange.slice(1).map(([, m]) => m));
  const statements = [{ fingerprint: "a1b2c3d4e5f60718", kind: "select" }];
  let seq = 0;
  return [
    await micro("msgpack frames", "record one statement: its event + 2 stream frames into the buffer", () => {
      if (sink.used > 1 << 19) sink.take();
      writeBytesFrame(sink, t, "client", "pg.stream", clientBytes);
      writeEvent(sink, {
        type: "statement",
        time: 1_795_000_000_000,
        sessionId: "0193b2a4-7c1e-7d2f-9a3b-1c2d3e4f5a6b",
        data: {
          action: "allow",
          bundle: "b9249fdbe373a3aaee1399b46ed13bdbeaf6a26e63831b07398fad5eea89658e",
          duration_us: 123,
          keyword: "select",
          reason: "allowed",
          record: "buffered",
          rows: 1,
          rule: "custos.allow",
          seq: seq++,
          statements,
          tag: "SELECT 1",
          text: "SELECT abalance FROM pgbench_accounts WHERE aid = 4242;",
        },
      });
      writeBytesFrame(sink, t, "server", "pg.stream", serverBytes);
    }),
    await micro("msgpack frames", "frame one select exchange (4 messages)", () => {
      for (const [type, m, dir] of exchange)
        do_not_optimize(dir === "client" ? frameClient(type, m, t) : frameServer(type, m, t));
    }),
    await micro(
      "msgpack frames",
      `encode a batch of ${frames.length} frames (256 exchanges)`,
      () => do_not_optimize(encodeFrames(frames)),
      {
        count: frames.length,
        unit: "frame",
      },
    ),
    await micro("msgpack frames", "encode 1,000 DataRow frames", () => do_not_optimize(encodeFrames(wide)), {
      count: wide.length,
      unit: "frame",
    }),
  ];
}

if (import.meta.main) console.log(microTable(await run()));
