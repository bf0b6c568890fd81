// A PostgreSQL session is recorded as its two byte streams, exactly as they crossed the gateway (the
// server's after masking), in batches: cheap to record at wire speed, and complete. This module turns a
// recording back into decoded frames (statements, bind parameters, row descriptions, rows, tags, errors)
// for transcripts, replay and evidence.
import { CustosError } from "../../core/errors.ts";
import type { Direction, Frame } from "../../core/frame.ts";
import type { ExpanderState, RecordingExpander, StreamMark } from "../../core/recording-expander.ts";
import { MessageFramer } from "./codec.ts";
import { frameClient, frameServer } from "./frames.ts";

/** The kind of a recorded batch of raw protocol bytes; `data.bytes` holds them. */
export const STREAM_KIND = "pg.stream";

const MAX_MESSAGE = 1 << 30;

/**
 * Expands `pg.stream` frames into one decoded frame per message (other frames pass through). Each
 * direction is reframed from its own bytes, so a message split across batches is decoded whole, stamped
 * with the time of the batch that completed it.
 */
export function expandRecording(frames: readonly Frame[]): Frame[] {
  return pgStreamExpander().push(0, frames);
}

/**
 * expandRecording batch by batch, for readers that page through a long recording: the same frames, and at
 * each batch boundary a state (where each direction's unfinished message began) from which a later
 * expander resumes, after restore() has fed it the bytes of that unfinished message.
 */
const DIRECTIONS: readonly Direction[] = ["client", "server"];

export function pgStreamExpander(resume: ExpanderState = {}): RecordingExpander {
  const framers = { client: new MessageFramer(MAX_MESSAGE), server: new MessageFramer(MAX_MESSAGE) };
  const marks: ExpanderState = { ...resume };
  /** Streams whose mark restore() has reached: each marked stream must be, before the first push. */
  const found = new Set<Direction>();
  let resuming = Object.keys(resume).length > 0;

  const mismatch = (why: string) =>
    new CustosError("protocol.malformed", `cursor does not fit the recording: ${why}`);

  return {
    push(batch, frames) {
      if (resuming) {
        for (const d of DIRECTIONS) {
          if (marks[d] && !found.has(d)) throw mismatch(`the ${d} stream's mark was never reached`);
        }
        resuming = false;
      }
      const out: Frame[] = [];
      frames.forEach((f, j) => {
        const bytes = f.kind === STREAM_KIND ? f.data?.bytes : undefined;
        if (!(bytes instanceof Uint8Array)) {
          out.push(f);
          return;
        }
        const framer = framers[f.dir];
        const before = framer.buffered;
        const decode = f.dir === "client" ? frameClient : frameServer;
        try {
          framer.push(bytes, (type, m) => {
            out.push(decode(type, m, f.t) ?? { t: f.t, dir: f.dir, kind: String.fromCharCode(type) });
          });
        } catch (err) {
          out.push({ t: f.t, dir: f.dir, kind: "Undecodable", data: { error: String(err), bytes } });
        }
        const after = framer.buffered;
        // A message completed (or the framer gave up) when the framer kept less than it held plus this chunk:
        // whatever it keeps then starts in this chunk. Otherwise the open message began where it did before.
        if (after === 0) delete marks[f.dir];
        else if (before === 0 || after !== before + bytes.length)
          marks[f.dir] = [batch, j, bytes.length - after];
      });
      return out;
    },

    state: () => structuredClone(marks),

    restore(batch, frames) {
      frames.forEach((f, j) => {
        const mark = marks[f.dir];
        const bytes = f.kind === STREAM_KIND ? f.data?.bytes : undefined;
        if (!mark || !(bytes instanceof Uint8Array) || before(batch, j, mark)) return;
        const start = batch === mark[0] && j === mark[1];
        if (start && mark[2] >= bytes.length) throw mismatch("a mark points past its frame");
        if (!start && !found.has(f.dir)) throw mismatch(`the ${f.dir} stream's mark is not a stream frame`);
        found.add(f.dir);
        framers[f.dir].push(start ? bytes.subarray(mark[2]) : bytes, () => {
          // A message that completes before the resume point was not open there.
          throw mismatch(`the ${f.dir} stream's open message completes before the resume point`);
        });
      });
    },
  };
}

function before(batch: number, frame: number, mark: StreamMark): boolean {
  return batch < mark[0] || (batch === mark[0] && frame < mark[1]);
}
