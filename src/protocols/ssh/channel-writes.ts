// Writes to a client's channel (stdout) and its stderr that survive ssh2's window handling. ssh2 1.17
// keeps the one write that ran out of window in `_chunk`/`_chunkcb` (stdout) or `_chunkErr`/`_chunkcbErr`
// (stderr) and, on WINDOW_ADJUST (RFC 4254 §5.2), resumes stdout's if set, else stderr's
// (lib/server.js, CHANNEL_WINDOW_ADJUST). It never clears them once resumed, so a later stderr stall
// resumes a stale stdout chunk instead (its bytes sent twice, its callback called twice), and while both
// streams wait only stdout is resumed. Two rules avoid both: a completed write clears its own fields, and
// the relay never writes while an earlier write waits for window (one stream stalled at a time).
import type { ServerChannel } from "ssh2";

interface WindowFields {
  _write(data: Uint8Array, enc: unknown, cb: (err?: Error | null) => void): void;
  _chunk?: Uint8Array;
  _chunkcb?: () => void;
  _chunkErr?: Uint8Array;
  _chunkcbErr?: () => void;
  stderr: { _write(data: Uint8Array, enc: unknown, cb: (err?: Error | null) => void): void };
}

const repaired = new WeakSet<object>();

/** Makes each completed write clear the window fields it left behind (idempotent per channel). */
export function repairWindowResume(channel: ServerChannel): void {
  if (repaired.has(channel)) return;
  repaired.add(channel);
  const c = channel as unknown as WindowFields;
  if (typeof c._write !== "function" || typeof c.stderr?._write !== "function") return;
  const out = c._write.bind(c);
  c._write = (data, enc, cb) =>
    out(data, enc, (err) => {
      c._chunk = undefined;
      c._chunkcb = undefined;
      cb(err);
    });
  const err = c.stderr._write.bind(c.stderr);
  c.stderr._write = (data, enc, cb) =>
    err(data, enc, (e) => {
      c._chunkErr = undefined;
      c._chunkcbErr = undefined;
      cb(e);
    });
}
