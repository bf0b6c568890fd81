// Audit batch write into the embedded SQLite store: LogWriter.prepare (encode, leaf hashes, Merkle append,
// recordings with SHA-256, signed checkpoint) and store.commit (one transaction, durable) for a batch of
// 100 statement events and 1,000 frames over 8 sessions. Run: bun bench/micro/audit-batch.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSignerKeys, importSigner } from "../../src/audit/checkpoint.ts";
import { LogWriter } from "../../src/audit/log-writer.ts";
import { openStore } from "../../src/audit/store.ts";
import type { AuditEvent } from "../../src/core/audit-event.ts";
import type { Frame } from "../../src/core/frame.ts";
import { type MicroRow, micro, microTable } from "./measure.ts";

export async function run(): Promise<MicroRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "custos-bench-audit-"));
  try {
    const store = await openStore(`sqlite:${join(dir, "audit.db")}`);
    const signer = await importSigner(await generateSignerKeys());
    const writer = await LogWriter.open(store, "bench-log", signer);
    const events: AuditEvent[] = Array.from({ length: 100 }, (_, i) => ({
      type: "statement",
      time: Date.now(),
      sessionId: `s${i % 8}`,
      data: {
        seq: i,
        text: "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
        action: "allow",
        tag: "SELECT 1",
        rows: 1,
      },
    }));
    const frames = new Map<string, Frame[]>();
    for (let s = 0; s < 8; s++) {
      frames.set(
        `s${s}`,
        Array.from({ length: 125 }, (_, i) => ({
          t: Date.now() * 1000,
          dir: "server" as const,
          kind: "CommandComplete",
          data: { tag: `SELECT ${i}` },
        })),
      );
    }
    const rows = [
      await micro("audit batch", "prepare: 100 events + 1,000 frames, checkpoint", () =>
        writer.prepare(events, frames, true),
      ),
      await micro(
        "audit batch",
        "prepare + commit to SQLite (WAL, durable)",
        async () => {
          const p = await writer.prepare(events, frames, true);
          await store.commit(p.batch);
          writer.accept(p);
        },
        { count: 100, unit: "event" },
      ),
    ];
    await store.close();
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) console.log(microTable(await run()));
