// Where the gateway's main thread spends its samples, by source file and by (native leaf ← nearest project
// function), from a `bun --cpu-prof` profile of bench/http/profile.ts. Only the steady window counts: from
// the first to the last sample with an HTTP-gateway frame (start-up, bundle build and key generation left
// out). Samples with no project frame are Bun's own work outside any JS call of ours: the event loop,
// Bun.serve's parsing and writing, promise jobs, GC.
// Usage: bun --cpu-prof --cpu-prof-dir=DIR bench/http/profile.ts 10 8 only-custos
//        bun bench/http/attribute.ts DIR/CPU….cpuprofile [top]
import { readFileSync } from "node:fs";

interface Frame {
  functionName: string;
  url: string;
}
interface Node {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error("usage: attribute.ts <file.cpuprofile> [top]");
const top = Number(topArg ?? 40);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const src = `file://${new URL("../../src/", import.meta.url).pathname}`;

const stacks = new Map<number, Frame[]>();
function stack(id: number): Frame[] {
  let s = stacks.get(id);
  if (s) return s;
  s = [];
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at))
    s.push(byId.get(at)!.callFrame);
  stacks.set(id, s);
  return s;
}

const inGateway = (s: Frame[]) => s.some((f) => f.url.startsWith(`${src}protocols/http/`));
const first = profile.samples.findIndex((id) => inGateway(stack(id)));
let last = profile.samples.length - 1;
while (last > first && !inGateway(stack(profile.samples[last]!))) last--;

const files = new Map<string, number>();
const leaves = new Map<string, number>();
const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
let total = 0;
for (let i = first; i <= last; i++) {
  const s = stack(profile.samples[i]!);
  total++;
  const own = s.find((f) => f.url.startsWith(src));
  const leaf = s[0]!;
  const native = leaf.url === "" || leaf.url === "[native code]" ? leaf.functionName : "";
  const where = own
    ? `${own.url.slice(src.length)}:${own.functionName || "(anonymous)"}`
    : "(no project frame)";
  add(
    files,
    own
      ? own.url.slice(src.length).replace(/^(audit|pipeline|policy|sql|core|masking)\/.*/, "$1/")
      : "(no project frame)",
  );
  add(leaves, native ? `${native} ← ${where}` : where);
}
const pct = (n: number) => `${((100 * n) / total).toFixed(1).padStart(5)}%`;
console.log(`${total} samples in the steady window\n\nby file:`);
for (const [k, n] of [...files].sort((a, b) => b[1] - a[1])) console.log(`${pct(n)}  ${k}`);
console.log("\nby native leaf ← project function:");
for (const [k, n] of [...leaves].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(n)}  ${k}`);
