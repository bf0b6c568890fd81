// `custos evidence verify`: the TypeScript verifier of an evidence bundle. Same checks and failure codes
// as the independent verify.py shipped inside the bundle (which shares no code with this one): manifest
// signature and file hashes, every leaf from the logged body bytes, the decoded JSON against them, every
// inclusion and consistency proof, every checkpoint's signed note, every recording against its event.
import { Decoder } from "@msgpack/msgpack";
import { verifySignature } from "../checkpoint.ts";
import { hex, sha256 } from "../codec.ts";
import { bytesEqual, leafHash, verifyConsistency, verifyInclusion } from "../merkle.ts";
import { canonicalJson, toJsonValue } from "./canonical-json.ts";
import { MANIFEST_DOMAIN } from "./export.ts";

export interface BundleFailure {
  code: string;
  where: string;
  reason: string;
}

export interface BundleReport {
  ok: boolean;
  verifier: "typescript";
  signer_public_key_hex: string | null;
  key_pinned: boolean;
  counts: {
    events: number;
    checkpoints: number;
    consistency_proofs: number;
    recordings: number;
    files: number;
    pruned_events: number;
    pruned_recordings: number;
  };
  failures: BundleFailure[];
}

interface ManifestLog {
  log_id: string;
  public_key_hex: string;
  tree_size: number;
  checkpoints: number[];
  events: number[];
  pruned_events?: number[];
}

interface ManifestRecording {
  pruned?: boolean;
  log_id: string;
  session_id: string;
  batch: number;
  event_seq: number;
  path: string;
}

const decoder = new Decoder();
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const utf8 = (b: Uint8Array) => new TextDecoder().decode(b);

export async function verifyBundle(
  files: ReadonlyMap<string, Uint8Array>,
  trustedKey?: Uint8Array,
): Promise<BundleReport> {
  const failures: BundleFailure[] = [];
  const fail = (code: string, where: string, reason: string) => failures.push({ code, where, reason });
  const counts = {
    events: 0,
    checkpoints: 0,
    consistency_proofs: 0,
    recordings: 0,
    files: 0,
    pruned_events: 0,
    pruned_recordings: 0,
  };
  const report = (signer: string | null): BundleReport => ({
    ok: failures.length === 0,
    verifier: "typescript",
    signer_public_key_hex: signer,
    key_pinned: trustedKey !== undefined,
    counts,
    failures,
  });

  const manifestBytes = files.get("MANIFEST.json");
  const sigText = files.get("MANIFEST.sig");
  if (!manifestBytes || !sigText) {
    fail("manifest.missing", "MANIFEST.json", "the bundle has no signed manifest");
    return report(null);
  }
  let manifest: {
    signer: { public_key_hex: string };
    logs?: ManifestLog[];
    recordings?: ManifestRecording[];
    files?: Record<string, string>;
  };
  let signer: Uint8Array;
  let signature: Uint8Array;
  try {
    manifest = JSON.parse(utf8(manifestBytes));
    signer = fromHex(manifest.signer.public_key_hex);
    signature = new Uint8Array(Buffer.from(utf8(sigText).trim(), "base64"));
  } catch {
    fail("manifest.invalid", "MANIFEST.json", "the manifest does not parse");
    return report(null);
  }
  const signed = Buffer.concat([new TextEncoder().encode(MANIFEST_DOMAIN), manifestBytes]);
  if (!(await verifySignature(signer, signed, signature))) {
    fail("manifest.signature", "MANIFEST.json", "the manifest's signature does not verify");
  }
  if (trustedKey && !bytesEqual(signer, trustedKey)) {
    fail("key.untrusted", "MANIFEST.json", "the manifest is signed by a key other than the trusted one");
  }
  const logs = manifest.logs ?? [];
  if (logs.length > 0 && !logs.some((l) => l.public_key_hex === hex(signer))) {
    fail("manifest.signer", "MANIFEST.json", "the manifest's signer is not the key of any log in it");
  }

  const listed = manifest.files ?? {};
  for (const path of Object.keys(listed).sort()) {
    const data = files.get(path);
    if (!data) fail("file.missing", path, "listed in the manifest but absent");
    else if (hex(sha256(data)) !== listed[path]) fail("file.hash", path, "SHA-256 differs from the manifest");
    counts.files++;
  }
  for (const path of [...files.keys()].sort()) {
    if (!(path in listed) && path !== "MANIFEST.json" && path !== "MANIFEST.sig") {
      fail("file.unlisted", path, "present in the bundle but not in the manifest");
    }
  }

  const batchEvents = new Map<string, { data?: Record<string, unknown>; sessionId?: string }>();
  for (const log of logs) await verifyLog(files, log, trustedKey, fail, counts, batchEvents);

  const recs = manifest.recordings ?? [];
  for (const r of recs) {
    const where = `${r.log_id}/${r.session_id}#${r.batch}`;
    if (r.pruned) {
      counts.pruned_recordings++;
      continue;
    }
    const data = files.get(r.path);
    if (!data) {
      fail("recording.missing", where, "the recording file is absent");
      continue;
    }
    const event = batchEvents.get(`${r.log_id}#${r.event_seq}`);
    if (!event) {
      fail("recording.event", where, "no verified recording.batch event for it");
      continue;
    }
    const d = event.data ?? {};
    if (hex(sha256(data)) !== d.sha256 || d.batch !== r.batch || event.sessionId !== r.session_id) {
      fail("recording.hash", where, "the recording does not match the SHA-256 its event committed");
      continue;
    }
    counts.recordings++;
  }
  const recorded = new Set(recs.map((r) => `${r.log_id}#${r.event_seq}`));
  for (const key of [...batchEvents.keys()].sort()) {
    if (!recorded.has(key)) {
      fail("recording.missing", key, "a recording.batch event whose recording is not in the bundle");
    }
  }
  return report(hex(signer));
}

function parseJson(files: ReadonlyMap<string, Uint8Array>, path: string, code: string, fail: Fail): unknown {
  const data = files.get(path);
  if (!data) {
    fail(code, path, "file absent");
    return null;
  }
  try {
    return JSON.parse(utf8(data));
  } catch {
    fail(code, path, "does not parse as JSON");
    return null;
  }
}

function parseLines(files: ReadonlyMap<string, Uint8Array>, path: string, code: string, fail: Fail) {
  const data = files.get(path);
  if (!data) {
    fail(code, path, "file absent");
    return [];
  }
  const out: Record<string, unknown>[] = [];
  utf8(data)
    .split(/\r?\n/)
    .forEach((line, n) => {
      if (!line.trim()) return;
      try {
        out.push(JSON.parse(line));
      } catch {
        fail(code, `${path} line ${n + 1}`, "does not parse as JSON");
      }
    });
  return out;
}

type Fail = (code: string, where: string, reason: string) => void;

/** Parses a C2SP signed note and checks its Ed25519 line for this key. */
async function readNote(note: string, key: Uint8Array) {
  const sep = note.indexOf("\n\n");
  if (sep < 0) throw new Error("no blank line");
  const body = note.slice(0, sep + 1);
  const lines = body.split("\n").slice(0, -1);
  if (lines.length < 3) throw new Error("short body");
  const size = Number.parseInt(lines[1]!, 10);
  if (!/^\d+$/.test(lines[1]!)) throw new Error("bad size");
  const root = new Uint8Array(Buffer.from(lines[2]!, "base64"));
  let ok = false;
  for (const line of note.slice(sep + 2).split("\n")) {
    if (!line.startsWith("\u2014 ")) continue;
    const rest = line.slice(2);
    const name = rest.slice(0, rest.lastIndexOf(" "));
    const raw = Buffer.from(rest.slice(rest.lastIndexOf(" ") + 1), "base64");
    const keyHash = sha256(Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([1]), key])).subarray(0, 4);
    if (
      bytesEqual(raw.subarray(0, 4), keyHash) &&
      (await verifySignature(key, new TextEncoder().encode(body), raw.subarray(4)))
    )
      ok = true;
  }
  return { origin: lines[0]!, size, root, ok };
}

async function verifyLog(
  files: ReadonlyMap<string, Uint8Array>,
  log: ManifestLog,
  trustedKey: Uint8Array | undefined,
  fail: Fail,
  counts: BundleReport["counts"],
  batchEvents: Map<string, { data?: Record<string, unknown>; sessionId?: string }>,
): Promise<void> {
  const logId = log.log_id;
  const key = fromHex(log.public_key_hex);
  const base = `logs/${logId}/`;
  if (trustedKey && !bytesEqual(key, trustedKey))
    fail("key.untrusted", logId, "the log's key is not the trusted one");

  const roots = new Map<number, Uint8Array>();
  const cps = (parseJson(files, `${base}checkpoints.json`, "checkpoint.missing", fail) ?? []) as {
    size?: number;
    note?: string;
  }[];
  for (const cp of cps) {
    const where = `${logId}@${cp.size}`;
    let note: Awaited<ReturnType<typeof readNote>>;
    try {
      note = await readNote(String(cp.note), key);
    } catch {
      fail("checkpoint.invalid", where, "the signed note does not parse");
      continue;
    }
    if (!note.ok) {
      fail("checkpoint.signature", where, "the checkpoint's signature does not verify");
      continue;
    }
    if (note.origin !== `custos/audit/${logId}` || note.size !== cp.size) {
      fail("checkpoint.invalid", where, "the note names another log or size");
      continue;
    }
    roots.set(note.size, note.root);
    counts.checkpoints++;
  }
  for (const s of log.checkpoints) {
    if (!roots.has(s) && !cps.some((c) => c.size === s))
      fail("checkpoint.missing", `${logId}@${s}`, "listed in the manifest but absent");
  }

  const proofs = (parseJson(files, `${base}consistency-proofs.json`, "consistency.missing", fail) ?? []) as {
    from: number;
    to: number;
    proof: string[];
  }[];
  for (let i = 1; i < log.checkpoints.length; i++) {
    const a = log.checkpoints[i - 1]!;
    const b = log.checkpoints[i]!;
    const where = `${logId}@${a}-${b}`;
    const p = proofs.find((x) => x.from === a && x.to === b);
    if (!p) {
      fail("consistency.missing", where, "no consistency proof between these checkpoints");
      continue;
    }
    const ra = roots.get(a);
    const rb = roots.get(b);
    if (ra && rb) {
      if (!verifyConsistency(a, b, ra, rb, p.proof.map(fromHex))) {
        fail("consistency.proof", where, "the later checkpoint does not extend the earlier one");
      } else counts.consistency_proofs++;
    }
  }

  const inclusion = new Map<unknown, Record<string, unknown>>();
  for (const p of parseLines(files, `${base}inclusion-proofs.jsonl`, "inclusion.missing", fail))
    inclusion.set(p.seq, p);
  const wanted = new Set(log.events);
  const pruned = new Set(log.pruned_events ?? []);
  const seen = new Set<unknown>();
  const treeRoot = roots.get(log.tree_size);
  for (const line of parseLines(files, `${base}events.jsonl`, "event.invalid", fail)) {
    const seq = line.seq as number;
    const where = `${logId}#${seq}`;
    if (seen.has(seq)) {
      fail("event.duplicate", where, "the event appears twice");
      continue;
    }
    seen.add(seq);
    if (!wanted.has(seq)) fail("event.unlisted", where, "the event is not in the manifest");
    if (Boolean(line.pruned) !== pruned.has(seq)) {
      fail("event.pruned", where, "pruned in the bundle but not in the manifest, or the reverse");
      continue;
    }
    if (line.pruned) {
      // Retention removed the body: the leaf hash alone must still be in the tree.
      const leafHex = String(line.leaf_hash ?? "");
      if (!/^([0-9a-fA-F]{2})*$/.test(leafHex)) {
        fail("event.invalid", where, "leaf_hash is not hex");
        continue;
      }
      checkInclusion(fail, where, seq, fromHex(leafHex), log.tree_size, treeRoot, inclusion.get(seq));
      counts.pruned_events++;
      continue;
    }
    const b64 = line.body_b64;
    if (typeof b64 !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
      fail("event.invalid", where, "body_b64 is not base64");
      continue;
    }
    const body = new Uint8Array(Buffer.from(b64, "base64"));
    const leaf = leafHash(body);
    if (hex(leaf) !== line.leaf_hash)
      fail("event.leaf", where, "the body does not hash to the leaf hash beside it");
    let decoded: unknown;
    try {
      decoded = decoder.decode(body);
    } catch (err) {
      fail("event.invalid", where, `the body is not msgpack (${err instanceof Error ? err.message : err})`);
      continue;
    }
    if (canonicalJson(toJsonValue(decoded)) !== canonicalJson(line.event)) {
      fail("event.json", where, "the decoded JSON differs from the logged body");
    }
    const ev = decoded as { type?: unknown; data?: Record<string, unknown>; sessionId?: string };
    if (ev && typeof ev === "object" && ev.type === "recording.batch") batchEvents.set(`${logId}#${seq}`, ev);
    checkInclusion(fail, where, seq, leaf, log.tree_size, treeRoot, inclusion.get(seq));
    counts.events++;
  }
  for (const seq of log.events) {
    if (!seen.has(seq)) fail("event.missing", `${logId}#${seq}`, "in the manifest but not in events.jsonl");
  }
}

function checkInclusion(
  fail: Fail,
  where: string,
  seq: number,
  leaf: Uint8Array,
  treeSize: number,
  root: Uint8Array | undefined,
  proof: Record<string, unknown> | undefined,
): void {
  if (!root) fail("inclusion.proof", where, `no verified checkpoint at the tree size ${treeSize}`);
  else if (!proof) fail("inclusion.missing", where, "no inclusion proof");
  else {
    const path = ((proof.proof as string[]) ?? []).map(fromHex);
    if (proof.tree_size !== treeSize || !verifyInclusion(seq, treeSize, leaf, path, root)) {
      fail("inclusion.proof", where, "the inclusion proof does not lead to the checkpoint's root");
    }
  }
}
