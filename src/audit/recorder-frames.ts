// One session's encoded frames between two hand-overs to the recorder worker, kept as parts: the frames'
// small fields are written into one buffer, and each long payload (a server chunk of result rows, often
// 64 KiB or more) is copied once into a part of its own, exactly sized, instead of into that buffer, which
// would double and copy everything again as it grows (issue 23: the wide-row results' recording was most
// of the gateway's garbage). The parts joined are byte for byte what one ByteSink would hold, so the
// stored recording, its sha256 and the log's leaves do not change.
import { ByteSink } from "./canonical.ts";

/** Payloads at least this long become parts of their own; shorter ones are copied in as before. */
export const OWN_PART_BYTES = 2048;

export class FrameSink extends ByteSink {
  /** Offsets into the buffer where each own part goes, in order, and the parts. */
  private cuts: number[] = [];
  private own: Uint8Array[] = [];

  override payload(b: Uint8Array): void {
    if (b.byteLength < OWN_PART_BYTES) return this.raw(b);
    this.cuts.push(this.used);
    // A copy, in a buffer of its own (transferred to the worker): the caller's goes to a socket too, and
    // may be a view of a larger pooled one. Not b.slice(): on a Node Buffer that is a view, not a copy.
    this.own.push(new Uint8Array(b));
  }

  /** The frames written, as parts in order; the sink must not be written afterwards. */
  parts(): Uint8Array[] {
    const buf = this.written();
    if (this.own.length === 0) return [buf];
    const out: Uint8Array[] = [];
    let from = 0;
    for (let i = 0; i < this.own.length; i++) {
      const at = this.cuts[i]!;
      if (at > from) out.push(buf.subarray(from, at));
      out.push(this.own[i]!);
      from = at;
    }
    if (buf.length > from) out.push(buf.subarray(from));
    return out;
  }
}
