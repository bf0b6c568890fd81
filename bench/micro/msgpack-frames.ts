// Recording cost on the hot path: PostgreSQL messages turned into frames (frames.ts) and a batch of frames
// encoded with msgpack (audit/codec.ts encodeFrames), as the recorder does per batch.
// Run: bun bench/micro/msgpack-frames.ts
import { do_not_optimize } from "mitata";
import { encodeFrames } from "../../src/audit/codec.ts";
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
  return [
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
