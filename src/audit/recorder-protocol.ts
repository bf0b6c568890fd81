// Messages between the recorder (calling thread) and recorder-worker.ts (owns the store and the log).
import type { AuditEvent } from "../core/audit-event.ts";
import type { ErrorCode } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import type { SignerKeys } from "./checkpoint.ts";

export interface InitMessage {
  op: "init";
  storeUrl: string;
  logId: string;
  keys: SignerKeys;
  flushIntervalMs: number;
  checkpointIntervalMs: number;
  /** A commit still running after this long makes the recorder unwritable until it finishes. */
  commitStallMs: number;
}

/** One tick's worth of appends, in order. `id` increases by one per message. */
export interface AppendMessage {
  op: "append";
  id: number;
  events: AuditEvent[];
  frames: [sessionId: string, frames: Frame[]][];
  /** Someone is waiting in durable(): commit now rather than at the next flush. */
  urgent: boolean;
}

export type ToWorker = InitMessage | AppendMessage | { op: "close" };

export interface CommitReport {
  /** Every append message with id <= upTo is committed. */
  upTo: number;
  events: number;
  frames: number;
  /** -1 when nothing needed writing (no transaction ran). */
  latencyMs: number;
  logSize: number;
  checkpointSize: number | null;
}

export type FromWorker =
  | { op: "ready"; logSize: number }
  | { op: "init-failed"; code: ErrorCode; message: string }
  | ({ op: "committed" } & CommitReport)
  | { op: "unwritable"; message: string; retryInMs: number }
  | { op: "closed"; ok: boolean; message?: string };
