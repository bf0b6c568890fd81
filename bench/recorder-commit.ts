// The recorder worker's CPU per durable commit and per event, driving the real Recorder the way an
// autocommit write does (a statement event and its frames, then durable()), measured per thread from /proc.
// Usage: bun bench/recorder-commit.ts [commits] [events-per-commit]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSignerKeys } from "../src/audit/checkpoint.ts";
import { Recorder } from "../src/audit/recorder.ts";
import type { AuditEvent } from "../src/core/audit-event.ts";
import { threadDelta, threadMicros } from "./support/cpu.ts";

const commits = Number(process.argv[2] ?? 3000);
const perCommit = Number(process.argv[3] ?? 1);
const dir = mkdtempSync(join(tmpdir(), "rec-commit-"));
const rec = await Recorder.start({
  storeUrl: `sqlite:${join(dir, "audit.db")}`,
  logId: "bench-commit",
  signer: await generateSignerKeys(),
});
const session = "sess-0123456789abcdef0123";
const query = new TextEncoder().encode("Q\0\0\0\x2finsert into w values (12345, 'x')\0");
const reply = new TextEncoder().encode("C\0\0\0\x0fINSERT 0 1\0Z\0\0\0\x05I");
const statement = (i: number): AuditEvent => ({
  type: "statement",
  time: Date.now(),
  sessionId: session,
  data: {
    seq: i,
    text: "insert into w values (12345, 'x')",
    keyword: "insert",
    action: "allow",
    rule: "agents.writes",
    reason: "write allowed for dba",
    tag: "INSERT 0 1",
    rows: 1,
    duration_us: 412,
    tables: ["public.w"],
    identity: { subject: "dba@bank.example", issuer: "https://issuer.example", roles: ["dba"] },
  },
});
rec.event({ type: "session.start", time: Date.now(), sessionId: session, data: { protocol: "postgres" } });
await rec.durable();

async function run(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < perCommit; k++) {
      const t = Date.now() * 1000;
      rec.bytesFrame(session, t, "client", "bytes", query);
      rec.event(statement(i));
      rec.bytesFrame(session, t, "server", "bytes", reply);
    }
    await rec.durable();
  }
}
await run(200); // warm-up
const before = threadMicros(process.pid);
const c0 = rec.stats().commits;
const t0 = performance.now();
await run(commits);
const ms = performance.now() - t0;
const delta = threadDelta(before, threadMicros(process.pid));
const n = rec.stats().commits - c0;
const per = [...delta]
  .filter(([, v]) => v / n >= 1)
  .map(([name, v]) => `${name} ${(v / n).toFixed(0)}`)
  .join(", ");
console.log(
  `${n} commits of ${perCommit} event(s) + ${2 * perCommit} frames: ${((ms * 1000) / n).toFixed(0)} µs wall/commit; CPU µs/commit: ${per}`,
);
await rec.close();
rmSync(dir, { recursive: true, force: true });
