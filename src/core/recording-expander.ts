// Turns stored recording batches into the frames a reader sees, one batch at a time, and says at each batch
// boundary what a later reader needs to resume there: where each stream's unfinished message began. That
// mark is what lets a page of a long recording decode only the batches it shows (api/admin/frame-pages.ts).
// Protocols that record byte streams implement it (protocols/postgres/recording.ts); the API consumes it.
import type { Direction, Frame } from "./frame.ts";

/** Where a stream's unfinished message began: batch number, index of the frame in the batch, byte offset. */
export type StreamMark = [batch: number, frame: number, offset: number];

/** An expander's state at a batch boundary, JSON-safe: a mark per stream with a message still open. */
export type ExpanderState = Partial<Record<Direction, StreamMark>>;

export interface RecordingExpander {
  /** Expands the next batch: the frames a whole-recording decode gives for it, in order. */
  push(batch: number, frames: readonly Frame[]): Frame[];
  /** The state at the boundary after the last batch pushed. */
  state(): ExpanderState;
  /**
   * Rebuilds a resumed state from a batch before the resume point: each marked stream takes its bytes from
   * its mark on. Emits nothing; throws a CustosError when the batch does not fit the state.
   */
  restore(batch: number, frames: readonly Frame[]): void;
}

/** `state` resumes at a boundary a previous expander reported; absent, the recording's start. */
export type ExpanderFactory = (protocol: string | null, state?: ExpanderState) => RecordingExpander;

/** Recordings stored as decoded frames (HTTP): every boundary is clean, there is nothing to carry. */
export const passThrough: ExpanderFactory = () => ({
  push: (_batch, frames) => [...frames],
  state: () => ({}),
  restore() {},
});

/** The first batch a resumed read must load: the resume batch itself or an earlier mark. */
export function firstBatchToRead(resumeAt: number, state: ExpanderState): number {
  let first = resumeAt;
  for (const mark of Object.values(state)) if (mark) first = Math.min(first, mark[0]);
  return first;
}
