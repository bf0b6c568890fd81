// Messages between the recorder (calling thread) and recorder-worker.ts (owns the store and the log).
import type { ErrorCode } from "../core/errors.ts";
import type { SignerKeys } from "./checkpoint.ts";
import type { CheckpointRow } from "./store.ts";

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

/**
 * Events as the calling thread encoded them (scrubbed, canonical msgpack), back to back in one transferred
 * buffer: event i is `bytes[ends[i-1] ?? 0, ends[i])`, with its columns beside it.
 */
export interface EncodedEvents {
  bytes: Uint8Array;
  ends: number[];
  types: string[];
  times: number[];
  sessions: (string | null)[];
}

/** One session's frames, each encoded (scrubbed, canonical msgpack), without the array header. */
export interface EncodedFrameRun {
  sessionId: string;
  /** Epoch microseconds of the first frame. */
  firstT: number;
  count: number;
  /** The frames' bytes in parts, to be joined in order (recorder-frames.ts). */
  parts: Uint8Array[];
}

/** A few milliseconds' worth of appends, in order. `id` increases by one per message. */
export interface AppendMessage {
  op: "append";
  id: number;
  events: EncodedEvents;
  frames: EncodedFrameRun[];
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
  /** The checkpoint signed in this commit, for the anchors (anchor.ts). */
  checkpoint: CheckpointRow | null;
}

export type FromWorker =
  | { op: "ready"; logSize: number; latestCheckpoint: CheckpointRow | null; publicKey: Uint8Array }
  | { op: "init-failed"; code: ErrorCode; message: string }
  | ({ op: "committed" } & CommitReport)
  | { op: "unwritable"; message: string; retryInMs: number }
  | { op: "closed"; ok: boolean; message?: string };
