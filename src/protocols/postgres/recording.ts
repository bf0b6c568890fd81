// A PostgreSQL session is recorded as its two byte streams, exactly as they crossed the gateway (the
// server's after masking), in batches: cheap to record at wire speed, and complete. This module turns a
// recording back into decoded frames (statements, bind parameters, row descriptions, rows, tags, errors)
// for transcripts, replay and evidence.
import type { Frame } from "../../core/frame.ts";
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
  const framers = { client: new MessageFramer(MAX_MESSAGE), server: new MessageFramer(MAX_MESSAGE) };
  const out: Frame[] = [];
  for (const f of frames) {
    const bytes = f.kind === STREAM_KIND ? f.data?.bytes : undefined;
    if (!(bytes instanceof Uint8Array)) {
      out.push(f);
      continue;
    }
    const decode = f.dir === "client" ? frameClient : frameServer;
    try {
      framers[f.dir].push(bytes, (type, m) => {
        const decoded = decode(type, m, f.t) ?? { t: f.t, dir: f.dir, kind: String.fromCharCode(type) };
        out.push(decoded);
      });
    } catch (err) {
      out.push({ t: f.t, dir: f.dir, kind: "Undecodable", data: { error: String(err), bytes } });
    }
  }
  return out;
}
