// A minimal POSIX ustar writer and reader (IEEE Std 1003.1-2001 "pax" ustar header), for the evidence
// bundle: regular files only, names split into prefix/name as ustar allows, gzip around it. Python's
// tarfile and GNU tar read what this writes.
import { gunzipSync, gzipSync } from "node:zlib";

const BLOCK = 512;
const encoder = new TextEncoder();

function put(header: Uint8Array, text: string, offset: number, length: number): void {
  const bytes = encoder.encode(text);
  if (bytes.length > length) throw new RangeError(`tar field too long: ${text}`);
  header.set(bytes, offset);
}

const octal = (n: number, width: number) => `${n.toString(8).padStart(width - 1, "0")}\0`;

/** Splits a path into ustar's name (100 bytes) and prefix (155 bytes) at a slash. */
function splitName(path: string): { name: string; prefix: string } {
  if (encoder.encode(path).length <= 100) return { name: path, prefix: "" };
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (encoder.encode(name).length <= 100 && encoder.encode(prefix).length <= 155) return { name, prefix };
  }
  throw new RangeError(`path too long for ustar: ${path}`);
}

function header(path: string, size: number, mtimeSec: number, mode: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const { name, prefix } = splitName(path);
  put(h, name, 0, 100);
  put(h, octal(mode, 8), 100, 8);
  put(h, octal(0, 8), 108, 8); // uid
  put(h, octal(0, 8), 116, 8); // gid
  put(h, octal(size, 12), 124, 12);
  put(h, octal(mtimeSec, 12), 136, 12);
  h.fill(0x20, 148, 156); // checksum counted as spaces
  h[156] = 0x30; // typeflag '0': regular file
  put(h, "ustar\0", 257, 6);
  put(h, "00", 263, 2);
  put(h, prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  put(h, `${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  return h;
}

/** Files in the order given, each under `root/`, as a gzip'd tar. */
export function writeTarGz(
  files: ReadonlyMap<string, Uint8Array>,
  root: string,
  mtimeMs: number,
  executable: ReadonlySet<string> = new Set(),
): Uint8Array {
  const parts: Uint8Array[] = [];
  const mtime = Math.floor(mtimeMs / 1000);
  for (const [path, data] of files) {
    parts.push(header(`${root}/${path}`, data.length, mtime, executable.has(path) ? 0o755 : 0o644), data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(BLOCK * 2)); // end of archive: two zero blocks
  return gzipSync(Buffer.concat(parts), { level: 9 });
}

const field = (b: Uint8Array, start: number, len: number) => {
  const slice = b.subarray(start, start + len);
  const end = slice.indexOf(0);
  return new TextDecoder().decode(end === -1 ? slice : slice.subarray(0, end));
};

/** Regular files of a gzip'd tar, by path; the single top-level folder (if any) is stripped. */
export function readTarGz(bytes: Uint8Array, maxBytes = 4 * 2 ** 30): Map<string, Uint8Array> {
  const tar = gunzipSync(bytes, { maxOutputLength: maxBytes });
  const out = new Map<string, Uint8Array>();
  for (let off = 0; off + BLOCK <= tar.length; ) {
    const h = tar.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    const name = field(h, 0, 100);
    const prefix = field(h, 345, 155);
    const size = Number.parseInt(field(h, 124, 12).trim() || "0", 8);
    const type = h[156];
    const path = prefix ? `${prefix}/${name}` : name;
    const data = tar.subarray(off + BLOCK, off + BLOCK + size);
    if (type === 0x30 || type === 0) out.set(path, new Uint8Array(data));
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  const roots = new Set([...out.keys()].map((p) => p.split("/")[0]));
  if (roots.size === 1 && [...out.keys()].every((p) => p.includes("/"))) {
    const prefix = `${[...roots][0]}/`;
    return new Map([...out].map(([p, d]) => [p.slice(prefix.length), d]));
  }
  return out;
}
