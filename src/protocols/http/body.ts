// Request and response bodies as streams. A body is only gathered whole when something must read it (the
// policy's JSON, masking) and only up to a bound; everything else flows chunk by chunk with the reader's
// pace (pull-based, so a slow client slows the upstream instead of filling memory).

/**
 * Bodies of declared length up to this size are read whole with one native read instead of through a JS
 * stream, which costs more per request than the relay itself. Memory per request stays bounded by it.
 */
export const WHOLE_BODY_MAX = 64 << 10;

/** Content-Length as a byte count; null when absent or not a plain decimal (the body is then streamed). */
export function declaredLength(headers: Headers): number | null {
  const v = headers.get("content-length");
  return v !== null && /^\d{1,15}$/.test(v) ? Number(v) : null;
}

/** The first `cap` bytes as their own buffer (a view would carry the whole body into the recording queue). */
export function head(bytes: Uint8Array, cap: number): Uint8Array {
  return bytes.length > cap ? bytes.slice(0, cap) : bytes;
}

export type Bounded =
  | { complete: true; bytes: Uint8Array }
  | { complete: false; stream: ReadableStream<Uint8Array>; read: number };

/**
 * Reads up to `limit` bytes. When the body fits, it is returned whole; otherwise the bytes read so far
 * and the rest are joined again into one stream, so nothing is lost.
 */
export async function readBounded(body: ReadableStream<Uint8Array>, limit: number): Promise<Bounded> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let read = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { complete: true, bytes: concat(chunks, read) };
    chunks.push(value);
    read += value.length;
    if (read > limit) return { complete: false, stream: prepend(chunks, reader), read };
  }
}

function prepend(
  chunks: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i < chunks.length) {
        controller.enqueue(chunks[i]!);
        chunks[i++] = EMPTY;
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

const EMPTY = new Uint8Array(0);

export function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export interface TapResult {
  bytes: number;
  /** The first `cap` bytes, for the recording. */
  head: Uint8Array;
  /** How the stream ended: its end, the reader cancelling it (client gone), or an error from the source. */
  end: "complete" | "cancelled" | "error";
  error?: string;
}

/**
 * Passes a stream through, counting its bytes and keeping its first `cap` bytes; `done` is called once
 * however it ends.
 */
export function tap(
  source: ReadableStream<Uint8Array>,
  cap: number,
  done: (r: TapResult) => void,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const head: Uint8Array[] = [];
  let kept = 0;
  let bytes = 0;
  let finished = false;
  const finish = (end: TapResult["end"], error?: string) => {
    if (finished) return;
    finished = true;
    done({ bytes, head: concat(head, kept), end, ...(error ? { error } : {}) });
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let r: Awaited<ReturnType<typeof reader.read>>;
      try {
        r = await reader.read();
      } catch (err) {
        finish("error", err instanceof Error ? err.message : String(err));
        controller.error(err);
        return;
      }
      if (r.done) {
        finish("complete");
        controller.close();
        return;
      }
      const chunk = r.value;
      bytes += chunk.length;
      if (kept < cap) {
        const take = Math.min(cap - kept, chunk.length);
        head.push(chunk.slice(0, take));
        kept += take;
      }
      controller.enqueue(chunk);
    },
    cancel(reason) {
      finish("cancelled");
      return reader.cancel(reason).catch(() => {});
    },
  });
}
