// SPDY/3 header blocks (draft-mbelshe-httpbis-spdy-00 §2.6.10): one zlib stream per direction, primed with
// the spec's dictionary (§2.6.10.1), holding name/value pairs. The relay reads them to know what each
// stream carries (k8s.io/streaming: `streamtype` stdin, stdout, stderr, error, resize; port-forward's
// data/error with `port`). Decoded by re-inflating the direction's header bytes so far with a sync flush
// (node:zlib has no synchronous streaming inflate); header blocks are few and small, and past a bound the
// stream types are simply no longer learnt.
import { constants, inflateSync } from "node:zlib";

// The SPDY/3 dictionary, §2.6.10.1 (1423 bytes), base64.
export const DICTIONARY = Buffer.from(
  [
    "AAAAB29wdGlvbnMAAAAEaGVhZAAAAARwb3N0AAAAA3B1dAAAAAZkZWxldGUAAAAFdHJhY2UAAAAGYWNjZXB0AAAADmFjY2Vw",
    "dC1jaGFyc2V0AAAAD2FjY2VwdC1lbmNvZGluZwAAAA9hY2NlcHQtbGFuZ3VhZ2UAAAANYWNjZXB0LXJhbmdlcwAAAANhZ2UA",
    "AAAFYWxsb3cAAAANYXV0aG9yaXphdGlvbgAAAA1jYWNoZS1jb250cm9sAAAACmNvbm5lY3Rpb24AAAAMY29udGVudC1iYXNl",
    "AAAAEGNvbnRlbnQtZW5jb2RpbmcAAAAQY29udGVudC1sYW5ndWFnZQAAAA5jb250ZW50LWxlbmd0aAAAABBjb250ZW50LWxv",
    "Y2F0aW9uAAAAC2NvbnRlbnQtbWQ1AAAADWNvbnRlbnQtcmFuZ2UAAAAMY29udGVudC10eXBlAAAABGRhdGUAAAAEZXRhZwAA",
    "AAZleHBlY3QAAAAHZXhwaXJlcwAAAARmcm9tAAAABGhvc3QAAAAIaWYtbWF0Y2gAAAARaWYtbW9kaWZpZWQtc2luY2UAAAAN",
    "aWYtbm9uZS1tYXRjaAAAAAhpZi1yYW5nZQAAABNpZi11bm1vZGlmaWVkLXNpbmNlAAAADWxhc3QtbW9kaWZpZWQAAAAIbG9j",
    "YXRpb24AAAAMbWF4LWZvcndhcmRzAAAABnByYWdtYQAAABJwcm94eS1hdXRoZW50aWNhdGUAAAATcHJveHktYXV0aG9yaXph",
    "dGlvbgAAAAVyYW5nZQAAAAdyZWZlcmVyAAAAC3JldHJ5LWFmdGVyAAAABnNlcnZlcgAAAAJ0ZQAAAAd0cmFpbGVyAAAAEXRy",
    "YW5zZmVyLWVuY29kaW5nAAAAB3VwZ3JhZGUAAAAKdXNlci1hZ2VudAAAAAR2YXJ5AAAAA3ZpYQAAAAd3YXJuaW5nAAAAEHd3",
    "dy1hdXRoZW50aWNhdGUAAAAGbWV0aG9kAAAAA2dldAAAAAZzdGF0dXMAAAAGMjAwIE9LAAAAB3ZlcnNpb24AAAAISFRUUC8x",
    "LjEAAAADdXJsAAAABnB1YmxpYwAAAApzZXQtY29va2llAAAACmtlZXAtYWxpdmUAAAAGb3JpZ2luMTAwMTAxMjAxMjAyMjA1",
    "MjA2MzAwMzAyMzAzMzA0MzA1MzA2MzA3NDAyNDA1NDA2NDA3NDA4NDA5NDEwNDExNDEyNDEzNDE0NDE1NDE2NDE3NTAyNTA0",
    "NTA1MjAzIE5vbi1BdXRob3JpdGF0aXZlIEluZm9ybWF0aW9uMjA0IE5vIENvbnRlbnQzMDEgTW92ZWQgUGVybWFuZW50bHk0",
    "MDAgQmFkIFJlcXVlc3Q0MDEgVW5hdXRob3JpemVkNDAzIEZvcmJpZGRlbjQwNCBOb3QgRm91bmQ1MDAgSW50ZXJuYWwgU2Vy",
    "dmVyIEVycm9yNTAxIE5vdCBJbXBsZW1lbnRlZDUwMyBTZXJ2aWNlIFVuYXZhaWxhYmxlSmFuIEZlYiBNYXIgQXByIE1heSBK",
    "dW4gSnVsIEF1ZyBTZXB0IE9jdCBOb3YgRGVjIDAwOjAwOjAwIE1vbiwgVHVlLCBXZWQsIFRodSwgRnJpLCBTYXQsIFN1biwg",
    "R01UY2h1bmtlZCx0ZXh0L2h0bWwsaW1hZ2UvcG5nLGltYWdlL2pwZyxpbWFnZS9naWYsYXBwbGljYXRpb24veG1sLGFwcGxp",
    "Y2F0aW9uL3hodG1sK3htbCx0ZXh0L3BsYWluLHRleHQvamF2YXNjcmlwdCxwdWJsaWNwcml2YXRlbWF4LWFnZT1nemlwLGRl",
    "ZmxhdGUsc2RjaGNoYXJzZXQ9dXRmLThjaGFyc2V0PWlzby04ODU5LTEsdXRmLSwqLGVucT0wLg==",
  ].join(""),
  "base64",
);

const MAX_HEADER_BYTES = 256 << 10;

export class SpdyHeaderDecoder {
  private compressed: Buffer[] = [];
  private size = 0;
  private seen = 0;
  private broken = false;

  /** The name/value pairs of the next header block, or null once decoding stopped (bound, bad data). */
  decode(block: Uint8Array): Record<string, string> | null {
    if (this.broken) return null;
    this.compressed.push(Buffer.from(block));
    this.size += block.length;
    if (this.size > MAX_HEADER_BYTES) {
      this.broken = true;
      return null;
    }
    let all: Buffer;
    try {
      all = inflateSync(Buffer.concat(this.compressed, this.size), {
        dictionary: DICTIONARY,
        finishFlush: constants.Z_SYNC_FLUSH,
      });
    } catch {
      this.broken = true;
      return null;
    }
    const fresh = all.subarray(this.seen);
    this.seen = all.length;
    return parsePairs(fresh);
  }
}

function parsePairs(b: Buffer): Record<string, string> | null {
  if (b.length < 4) return null;
  const n = b.readUInt32BE(0);
  const out: Record<string, string> = {};
  let at = 4;
  for (let i = 0; i < n; i++) {
    if (at + 4 > b.length) return null;
    const nl = b.readUInt32BE(at);
    at += 4;
    if (at + nl + 4 > b.length) return null;
    const name = b.toString("latin1", at, at + nl);
    at += nl;
    const vl = b.readUInt32BE(at);
    at += 4;
    if (at + vl > b.length) return null;
    out[name.toLowerCase()] = b.toString("latin1", at, at + vl);
    at += vl;
  }
  return out;
}

/** Where a control frame's header block starts (§2.6.1 SYN_STREAM, §2.6.2 SYN_REPLY, §2.6.7 HEADERS). */
export function headerBlockOffset(type: number): number | null {
  if (type === 1) return 10;
  if (type === 2 || type === 8) return 4;
  return null;
}
