// Runs every microbenchmark in bench/micro and prints one table; with --write, rewrites the "micro"
// section of bench/RESULTS.md. Run: bun bench/micro/all.ts [--write]
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { load1, machineInfo } from "../support/machine.ts";
import { replaceSection } from "../support/results-md.ts";
import { run as auditBatch } from "./audit-batch.ts";
import { run as datarowMask } from "./datarow-mask.ts";
import { run as framing } from "./framing.ts";
import { type MicroRow, microTable } from "./measure.ts";
import { run as msgpackFrames } from "./msgpack-frames.ts";
import { run as policyDecision } from "./policy-decision.ts";

const root = resolve(import.meta.dir, "../..");
const before = load1();
const rows: MicroRow[] = [];
for (const bench of [framing, datarowMask, policyDecision, msgpackFrames, auditBatch])
  rows.push(...(await bench()));
const m = machineInfo(root);
const body = [
  "## Microbenchmarks (bench/micro)",
  "",
  `${m.date} · commit ${m.commit} · ${m.nproc} cores, ${m.memoryGb} GB, ${m.cpuModel} · Bun ${m.bun} · load average (1 min) ${before} before, ${m.load1} after · \`bun bench/micro/all.ts --write\` (mitata; each file also runs alone)`,
  "",
  microTable(rows),
].join("\n");
console.log(body);
if (process.argv.includes("--write")) {
  const path = join(root, "bench/RESULTS.md");
  writeFileSync(path, replaceSection(readFileSync(path, "utf8"), "micro", body));
}
