// Reads an OPA bundle built with `opa build -t wasm` (a tar.gz holding /policy.wasm and /data.json).
// The tar is read here rather than with a library: ustar headers are 512-byte blocks, and the gateway
// only needs two regular files from a bundle it trusts no more than any other input.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { CustosError } from "../core/errors.ts";

export interface PolicyBundle {
  wasm: Uint8Array;
  data: unknown;
  /** SHA-256 of the bundle file, hex: the bundle's identity in decisions and the audit log. */
  hash: string;
  /** The bundle's .manifest (revision, roots) when present. */
  manifest?: unknown;
  /** The Rego sources `opa build` stores beside the WASM, by path: what volatility.ts analyses. */
  sources: Map<string, string>;
}

const MAX_UNPACKED = 256 * 1024 * 1024;
const BLOCK = 512;

function fail(message: string, detail?: Record<string, unknown>): never {
  throw new CustosError("policy.unavailable", `policy bundle: ${message}`, detail);
}

function field(block: Uint8Array, start: number, length: number): string {
  const bytes = block.subarray(start, start + length);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end === -1 ? bytes : bytes.subarray(0, end));
}

function octal(block: Uint8Array, start: number, length: number): number {
  const text = field(block, start, length).trim();
  if (!/^[0-7]+$/.test(text)) fail("corrupt tar header (size)");
  return Number.parseInt(text, 8);
}

function checksumOk(header: Uint8Array): boolean {
  const stored = field(header, 148, 8).trim();
  if (!/^[0-7]+$/.test(stored)) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum === Number.parseInt(stored, 8);
}

/** Regular files of a tar archive by path (leading `/` and `./` removed). */
export function untar(tar: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    if (!checksumOk(header)) fail("corrupt tar header (checksum)");
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] ?? 0);
    const prefix = field(header, 345, 155);
    const dataStart = offset + BLOCK;
    if (dataStart + size > tar.length) fail("truncated tar entry");
    const data = tar.subarray(dataStart, dataStart + size);
    if (type === "L") {
      longName = new TextDecoder().decode(data).replace(/\0+$/, "");
    } else {
      const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
      longName = undefined;
      if (type === "0" || type === "\0") files.set(name.replace(/^(\.?\/)+/, ""), data);
    }
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}

function json(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    fail(`${what} is not valid JSON`, { error: err instanceof Error ? err.message : String(err) });
  }
}

export function readBundle(file: Uint8Array): PolicyBundle {
  let tar: Uint8Array;
  try {
    tar = gunzipSync(file, { maxOutputLength: MAX_UNPACKED });
  } catch (err) {
    fail("not a gzip archive", { error: err instanceof Error ? err.message : String(err) });
  }
  const files = untar(tar);
  const wasm = files.get("policy.wasm");
  if (!wasm || wasm.length === 0) fail("no policy.wasm (build it with `custos policy build`)");
  const dataBytes = files.get("data.json");
  const manifestBytes = files.get(".manifest");
  const sources = new Map<string, string>();
  for (const [name, bytes] of files)
    if (name.endsWith(".rego")) sources.set(name, new TextDecoder().decode(bytes));
  return {
    sources,
    wasm: new Uint8Array(wasm),
    data: dataBytes ? json(dataBytes, "data.json") : {},
    hash: createHash("sha256").update(file).digest("hex"),
    ...(manifestBytes ? { manifest: json(manifestBytes, ".manifest") } : {}),
  };
}

export async function readBundleFile(path: string): Promise<PolicyBundle> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    fail(`cannot read ${path}`, { error: err instanceof Error ? err.message : String(err) });
  }
  return readBundle(bytes);
}
