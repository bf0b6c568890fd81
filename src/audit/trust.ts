// What the operator trusts, in files that leave the host: the gateway's public key as a C2SP note verifier
// key (https://c2sp.org/signed-note: `<name>+<hex keyhash>+<base64(0x01 || key)>`, keyhash = the first 4
// bytes of SHA-256(name || "\n" || 0x01 || key)), and signed checkpoints as C2SP signed notes
// (https://c2sp.org/tlog-checkpoint). `audit verify --public-key/--trusted-checkpoint/--anchor` reads them.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkpointBody, checkpointOrigin, verifyCheckpoint } from "./checkpoint.ts";
import { hex, sha256 } from "./codec.ts";
import { bytesEqual } from "./merkle.ts";
import type { CheckpointRow } from "./store.ts";

/** Signature type byte of Ed25519 in C2SP signed notes. */
const ED25519_ALG = 0x01;
const EM_DASH = "\u2014";

export function publicKeyFingerprint(raw: Uint8Array): string {
  return `SHA256:${hex(sha256(raw))}`;
}

function keyHash(name: string, raw: Uint8Array): Uint8Array {
  return sha256(Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([ED25519_ALG]), raw])).subarray(0, 4);
}

export function noteVerifierKey(raw: Uint8Array, logId: string): string {
  const name = checkpointOrigin(logId);
  const data = Buffer.concat([Buffer.from([ED25519_ALG]), raw]).toString("base64");
  return `${name}+${hex(keyHash(name, raw))}+${data}`;
}

/** The public key file `custos audit export-key` writes and anchors hold: comments, then the verifier key. */
export function publicKeyFile(raw: Uint8Array, logId: string): string {
  return [
    "# Custos gateway audit key (Ed25519): audit verify --public-key FILE",
    `# log ${logId}`,
    `# fingerprint ${publicKeyFingerprint(raw)}`,
    noteVerifierKey(raw, logId),
    "",
  ].join("\n");
}

export class TrustError extends Error {}

/**
 * Every Ed25519 key in a key file: C2SP verifier key lines, or a PEM "PUBLIC KEY" (SPKI) block. Lines
 * starting with # are comments. A verifier key whose keyhash does not match its name and key is refused.
 */
export function parsePublicKeys(text: string, where = "public key file"): Uint8Array[] {
  const keys: Uint8Array[] = [];
  const pem = /-----BEGIN PUBLIC KEY-----([\s\S]+?)-----END PUBLIC KEY-----/g;
  for (const m of text.matchAll(pem)) {
    const der = Buffer.from(m[1]!.replace(/\s+/g, ""), "base64");
    // SPKI of Ed25519 (RFC 8410): a fixed 12-byte prefix, then the 32-byte key.
    const prefix = Buffer.from("302a300506032b6570032100", "hex");
    if (der.length !== 44 || !der.subarray(0, 12).equals(prefix)) {
      throw new TrustError(`${where}: PEM public key is not Ed25519`);
    }
    keys.push(new Uint8Array(der.subarray(12)));
  }
  for (const raw of text.replace(pem, "").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    // name+hash+keydata: the name holds no "+", the hash is 8 hex digits, the base64 key data may hold "+".
    const m = /^([^+\s]+)\+([0-9a-fA-F]{8})\+([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw new TrustError(`${where}: "${line.slice(0, 40)}" is not a verifier key`);
    const [, name, hash, data] = m as unknown as [string, string, string, string];
    const bytes = Buffer.from(data, "base64");
    if (bytes.length !== 33 || bytes[0] !== ED25519_ALG) {
      throw new TrustError(`${where}: verifier key ${name} is not an Ed25519 key`);
    }
    const key = new Uint8Array(bytes.subarray(1));
    if (hex(keyHash(name, key)) !== hash.toLowerCase()) {
      throw new TrustError(`${where}: verifier key ${name}: key hash does not match the key`);
    }
    keys.push(key);
  }
  if (keys.length === 0) throw new TrustError(`${where}: holds no public key`);
  return keys;
}

export interface ParsedNote {
  checkpoint: CheckpointRow;
  /** The key that verified it. */
  key: Uint8Array;
}

/**
 * Every signed note in `text` (one, or an anchor's append-only file of many), each verified against one of
 * `keys`. A note that does not parse as a Custos checkpoint, or that no trusted key signed, is an error:
 * an anchor holds only what the gateway published.
 */
export async function parseSignedNotes(
  text: string,
  keys: Uint8Array[],
  where = "checkpoint file",
): Promise<ParsedNote[]> {
  const out: ParsedNote[] = [];
  const lines = text.split("\n");
  let i = 0;
  while (i < lines.length) {
    if (lines[i] === "") {
      i++;
      continue;
    }
    const body: string[] = [];
    while (i < lines.length && lines[i] !== "") body.push(lines[i++]!);
    i++; // the blank line between body and signatures
    const sigs: string[] = [];
    while (i < lines.length && lines[i]!.startsWith(`${EM_DASH} `)) sigs.push(lines[i++]!);
    if (sigs.length === 0) throw new TrustError(`${where}: a note has no signature line`);
    out.push(await verifyNote(body, sigs, keys, where));
  }
  if (out.length === 0) throw new TrustError(`${where}: holds no signed checkpoint`);
  return out;
}

async function verifyNote(
  body: string[],
  sigs: string[],
  keys: Uint8Array[],
  where: string,
): Promise<ParsedNote> {
  const [origin, sizeText, rootText, ...ext] = body;
  const logId = origin?.startsWith("custos/audit/") ? origin.slice("custos/audit/".length) : null;
  const time = ext.map((l) => /^time (\d+)$/.exec(l)?.[1]).find((t) => t !== undefined);
  if (!logId || !/^\d+$/.test(sizeText ?? "") || !rootText || time === undefined) {
    throw new TrustError(`${where}: a note is not a Custos checkpoint (origin ${origin ?? "?"})`);
  }
  const rootHash = new Uint8Array(Buffer.from(rootText, "base64"));
  const cp = { logId, size: Number(sizeText), rootHash, time: Number(time) };
  if (
    rootHash.length !== 32 ||
    checkpointBody(logId, cp.size, rootHash, cp.time) !== `${body.join("\n")}\n`
  ) {
    throw new TrustError(`${where}: checkpoint of ${logId} at size ${sizeText} is malformed`);
  }
  const name = checkpointOrigin(logId);
  for (const line of sigs) {
    const [, signer, b64] = line.split(" ");
    const raw = Buffer.from(b64 ?? "", "base64");
    if (signer !== name || raw.length !== 68) continue;
    for (const key of keys) {
      if (!bytesEqual(raw.subarray(0, 4), keyHash(name, key))) continue;
      const row: CheckpointRow = { ...cp, signature: new Uint8Array(raw.subarray(4)) };
      if (await verifyCheckpoint(key, row)) return { checkpoint: row, key };
    }
  }
  throw new TrustError(
    `${where}: checkpoint of ${logId} at size ${cp.size} is not signed by the trusted public key`,
  );
}

export interface TrustedLog {
  logId: string;
  keys: Uint8Array[];
  /** Ascending by size; every one must be a prefix of the stored log. */
  checkpoints: CheckpointRow[];
}

/** What the operator hands verify: keys and, per log, checkpoints known from outside the store. */
export interface Trust {
  keys: Uint8Array[];
  logs: Map<string, TrustedLog>;
  /** Where the trust came from, for the report. */
  source: string;
}

export async function trustFromFiles(keyFile: string, checkpointFiles: string[]): Promise<Trust> {
  const keys = parsePublicKeys(readText(keyFile), keyFile);
  const logs = new Map<string, TrustedLog>();
  for (const file of checkpointFiles) {
    for (const n of await parseSignedNotes(readText(file), keys, file)) addCheckpoint(logs, n);
  }
  return { keys, logs, source: [keyFile, ...checkpointFiles].join(", ") };
}

/**
 * A file anchor's directory (anchors/file.ts): `<log>.pub` and `<log>.checkpoints` per log. With `keyFile`,
 * the anchor's own .pub files must hold that key; without, the anchor's keys are trusted as published.
 */
export async function trustFromAnchorDir(dir: string, keyFile?: string): Promise<Trust> {
  if (!existsSync(dir)) throw new TrustError(`anchor ${dir} does not exist`);
  const given = keyFile ? parsePublicKeys(readText(keyFile), keyFile) : null;
  const logs = new Map<string, TrustedLog>();
  const allKeys: Uint8Array[] = [...(given ?? [])];
  const files = readdirSync(dir).filter((f) => f.endsWith(".checkpoints"));
  for (const f of files.sort()) {
    const logId = f.slice(0, -".checkpoints".length);
    const pubFile = join(dir, `${logId}.pub`);
    const published = existsSync(pubFile) ? parsePublicKeys(readText(pubFile), pubFile) : [];
    if (given && published.some((k) => !given.some((g) => bytesEqual(g, k)))) {
      throw new TrustError(`${pubFile}: the anchor holds a key other than the one in ${keyFile}`);
    }
    const keys = given ?? published;
    if (keys.length === 0) throw new TrustError(`${pubFile}: missing (no key to check ${f} with)`);
    for (const k of keys) if (!allKeys.some((a) => bytesEqual(a, k))) allKeys.push(k);
    for (const n of await parseSignedNotes(readText(join(dir, f)), keys, join(dir, f))) {
      if (n.checkpoint.logId !== logId) {
        throw new TrustError(`${join(dir, f)}: holds a checkpoint of another log (${n.checkpoint.logId})`);
      }
      addCheckpoint(logs, n);
    }
  }
  if (logs.size === 0) throw new TrustError(`anchor ${dir} holds no checkpoint`);
  return { keys: allKeys, logs, source: dir };
}

export function trustFromKeys(keyFile: string): Trust {
  return { keys: parsePublicKeys(readText(keyFile), keyFile), logs: new Map(), source: keyFile };
}

function addCheckpoint(logs: Map<string, TrustedLog>, n: ParsedNote): void {
  const id = n.checkpoint.logId;
  const log = logs.get(id) ?? { logId: id, keys: [], checkpoints: [] };
  if (!log.keys.some((k) => bytesEqual(k, n.key))) log.keys.push(n.key);
  const same = log.checkpoints.find((c) => c.size === n.checkpoint.size);
  if (same && !bytesEqual(same.rootHash, n.checkpoint.rootHash)) {
    throw new TrustError(
      `two trusted checkpoints of ${id} at size ${n.checkpoint.size} have different roots: the log forked`,
    );
  }
  if (!same) log.checkpoints.push(n.checkpoint);
  log.checkpoints.sort((a, b) => a.size - b.size);
  logs.set(id, log);
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new TrustError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
}
