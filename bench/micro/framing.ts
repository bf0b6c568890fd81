// Message framing (MessageFramer): a pgbench-like server response stream, in one chunk and split at awkward
// places so messages span chunks. Run: bun bench/micro/framing.ts
import { do_not_optimize } from "mitata";
import { commandComplete, MessageFramer, readyForQuery, Writer } from "../../src/protocols/postgres/codec.ts";
import { type MicroRow, micro, microTable } from "./measure.ts";

function dataRow(values: string[]): Uint8Array {
  const w = new Writer().int16(values.length);
  for (const v of values) {
    const b = new TextEncoder().encode(v);
    w.int32(b.length).bytes(b);
  }
  return w.finish("D");
}

const response = Buffer.concat([
  ...Array.from({ length: 100 }, (_, i) => dataRow([String(i), `name ${i}`, `2024-01-${(i % 28) + 1}`])),
  commandComplete("SELECT 100"),
  readyForQuery("I"),
]);
const messages = 102;
const chunks = (size: number) =>
  Array.from({ length: Math.ceil(response.length / size) }, (_, i) =>
    response.subarray(i * size, (i + 1) * size),
  );
const split1k = chunks(1000);
const split64 = chunks(64);

export async function run(): Promise<MicroRow[]> {
  const framer = new MessageFramer(1 << 30);
  const sink = (type: number, m: Uint8Array) => do_not_optimize(type + m.length);
  const per = { count: messages, unit: "message" };
  return [
    await micro("framing", "102 messages in one chunk", () => framer.push(response, sink), per),
    await micro(
      "framing",
      "102 messages in 1,000-byte chunks",
      () => {
        for (const c of split1k) framer.push(c, sink);
      },
      per,
    ),
    await micro(
      "framing",
      "102 messages in 64-byte chunks",
      () => {
        for (const c of split64) framer.push(c, sink);
      },
      per,
    ),
  ];
}

if (import.meta.main) console.log(microTable(await run()));
