import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileSink } from "./file-sink.ts";
import type { Delivery } from "./sink.ts";

test("appends JSON lines and rotates at max_size, keeping `keep` old files, oldest dropped", async () => {
  const dir = mkdtempSync(join(tmpdir(), "custos-file-sink-"));
  const path = join(dir, "sub", "events.jsonl");
  const sink = fileSink({ name: "f", format: "native", path, maxSize: 1024, keep: 2 });
  const batch = (n: number): Delivery[] => [{ item: {} as never, record: { n, pad: "x".repeat(400) } }];
  for (let n = 0; n < 8; n++) await sink.deliver(batch(n));
  expect(readdirSync(join(dir, "sub")).sort()).toEqual(["events.jsonl", "events.jsonl.1", "events.jsonl.2"]);
  const ns = (f: string) =>
    readFileSync(join(dir, "sub", f), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).n);
  expect([...ns("events.jsonl.2"), ...ns("events.jsonl.1"), ...ns("events.jsonl")]).toEqual([
    2, 3, 4, 5, 6, 7,
  ]);
});
