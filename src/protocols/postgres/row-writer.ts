// The masked result path's output: every message of one server chunk is written into one buffer, and a
// DataRow is masked straight into it (its value lengths and the message length patched in place), so a
// masked row costs no buffer, edit list or concatenation of its own. mask.ts's maskDataRow stays for the
// callers that need one row as a message (COPY, tests).

import { CustosError } from "../../core/errors.ts";
import type { MaskStats } from "../../masking/evidence.ts";
import { partialWrite, REDACTED } from "../../masking/methods.ts";
import { copyBytes, type Piece, piecesLength, writePieces } from "../../masking/pieces.ts";
import { maskValue, type PgRowMasker, TypeClass } from "./mask.ts";

/** A growable byte buffer for one chunk of output; `bytes()` is handed to the socket and never reused. */
export class ChunkWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(capacity, 256));
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n + 256));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  append(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    if (bytes.length < 96) this.pos = copyBytes(bytes, 0, bytes.length, this.buf, this.pos);
    else {
      this.buf.set(bytes, this.pos);
      this.pos += bytes.length;
    }
  }

  /** The bytes written; the writer must not be used afterwards. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

function malformed(message: string): CustosError {
  return new CustosError("upstream.protocol", `masking: ${message}`);
}

function int32(b: Uint8Array, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}

function setInt32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}

// 'D' DataRow, protocol-message-formats: Int32 length (self-inclusive), Int16 column count, then per
// column Int32 value length (-1 = NULL) and the value bytes.
/**
 * Writes DataRow `msg`, masked per `m`, into `w`; the same bytes as maskDataRow would return. What is not
 * rewritten (headers, lengths, NULLs, values left as they are) is copied in as few stretches as possible:
 * a row with nothing to mask is one copy.
 */
export function maskDataRowInto(msg: Uint8Array, m: PgRowMasker, w: ChunkWriter, stats?: MaskStats): void {
  if (stats) stats.rows++;
  if (!m.plan.active) return w.append(msg);
  const total = msg.length;
  if (msg[0] !== 0x44 || total < 7) throw malformed("not a DataRow");
  const n = (msg[5]! << 8) | msg[6]!;
  const columns = m.plan.columns;
  if (n !== columns.length) throw malformed("DataRow column count differs from its RowDescription");
  // Room for the row as it is; a replacement longer than its value asks for more as it is written.
  w.ensure(total + 64);
  const start = w.pos;
  let out = w.buf;
  let o = start;
  /** First byte of msg not yet copied: everything before it is in out. */
  let from = 0;
  let pos = 7;
  let masked = false;
  for (let i = 0; i < n; i++) {
    if (pos + 4 > total) throw malformed("truncated DataRow");
    const len = int32(msg, pos);
    pos += 4;
    if (len === -1) continue; // NULL stays NULL
    if (len < 0 || pos + len > total) throw malformed("truncated DataRow");
    const col = columns[i]!;
    const end = pos + len;
    if (col.method === null && m.detectors[i]!.length === 0) {
      pos = end;
      continue;
    }
    const lenAt = pos - 4;
    if (col.method !== null && col.method !== "hash" && m.classes[i] === TypeClass.String) {
      // A string column masked by method: written directly (no pieces).
      if (stats) {
        stats.columnValues[i]!++;
        stats.markCell(i);
      }
      masked = true;
      o = copyBytes(msg, from, lenAt, out, o);
      if (col.method === "null") {
        setInt32(out, o, -1);
        o += 4;
      } else if (col.method === "partial") {
        // `partial` never writes more bytes than it reads: written first, its length patched after.
        const at = o;
        o = partialWrite(msg, pos, end, out, at + 4);
        setInt32(out, at, o - at - 4);
      } else {
        w.pos = o;
        w.ensure(4 + REDACTED.length + (total - end));
        out = w.buf;
        setInt32(out, o, REDACTED.length);
        o = copyBytes(REDACTED, 0, REDACTED.length, out, o + 4);
      }
      from = end;
    } else {
      const pieces: Piece[] | null | undefined = maskValue(m, i, msg, pos, end, stats);
      if (pieces !== undefined) {
        masked = true;
        stats?.markCell(i);
        o = copyBytes(msg, from, lenAt, out, o);
        if (pieces === null) {
          setInt32(out, o, -1);
          o += 4;
        } else {
          const size = piecesLength(msg, pieces);
          w.pos = o;
          w.ensure(4 + size + (total - end));
          out = w.buf;
          setInt32(out, o, size);
          o = writePieces(msg, pieces, out, o + 4);
        }
        from = end;
      }
    }
    pos = end;
  }
  o = copyBytes(msg, from, total, out, o);
  if (masked && stats) stats.rowsMasked++;
  setInt32(out, start + 1, o - start - 1);
  w.pos = o;
}
