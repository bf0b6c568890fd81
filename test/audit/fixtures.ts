// Shared pieces for the audit tests: keys, a log written through LogWriter, and a raw SQL handle for tampering.

import { type CheckpointSigner, generateSignerKeys, importSigner } from "../../src/audit/checkpoint.ts";
import { LogWriter } from "../../src/audit/log-writer.ts";
import type { AuditStore } from "../../src/audit/store.ts";
import type { AuditEvent } from "../../src/core/audit-event.ts";
import type { Frame } from "../../src/core/frame.ts";

export interface StoreHarness {
  /** `sqlite:…` or `postgres://…` for openStore / Recorder.start. */
  url: string;
  /** Runs SQL straight against the store, bypassing Custos (what an attacker with DB access can do). `?` params. */
  exec(sql: string, params?: unknown[]): Promise<void>;
  /** Makes the store refuse writes; the returned function ends the outage. */
  outage(): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

let signer: Promise<CheckpointSigner> | undefined;
export const testKeys = generateSignerKeys();
export function testSigner(): Promise<CheckpointSigner> {
  signer ??= testKeys.then(importSigner);
  return signer;
}

let unique = 0;
export const newLogId = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${unique++}`;

export function ev(
  type: string,
  sessionId: string | undefined,
  data: Record<string, unknown>,
  time = Date.now(),
): AuditEvent {
  return sessionId === undefined ? { type, time, data } : { type, time, sessionId, data };
}

export function frame(i: number, kind = "Query"): Frame {
  return {
    t: 1_700_000_000_000_000 + i,
    dir: i % 2 ? "server" : "client",
    kind,
    data: { text: `select ${i}` },
  };
}

/**
 * Writes `batches` commits of `perBatch` statement events each, checkpointing all but the last batch, with one
 * recording in the second batch. Returns the writer's final size and the checkpointed size.
 */
export async function writeLog(store: AuditStore, logId: string, batches = 4, perBatch = 4) {
  const writer = await LogWriter.open(store, logId, await testSigner());
  const sid = `${logId}-s`;
  for (let b = 0; b < batches; b++) {
    const events = Array.from({ length: perBatch }, (_, i) =>
      ev(
        "statement",
        sid,
        { seq: b * perBatch + i, text: `select ${b * perBatch + i}` },
        1_700_000_000_000 + b,
      ),
    );
    const frames = new Map<string, Frame[]>(b === 1 ? [[sid, [frame(1), frame(2)]]] : []);
    const p = await writer.prepare(events, frames, b < batches - 1, 1_700_000_000_000 + b);
    await store.commit(p.batch);
    writer.accept(p);
  }
  return { size: writer.size, sessionId: sid };
}
