// `custos evidence export`: assembles the offline bundle (layout in README.txt below), signs its manifest
// with the gateway key and packs it as one .tar.gz. What a verifier must recompute is shipped as logged:
// event bodies as the exact msgpack bytes, recordings as stored.
import { readFileSync } from "node:fs";
import { projectFile } from "../../project-files.ts";
import { checkpointBody, signedNote } from "../checkpoint.ts";
import { hex, sha256 } from "../codec.ts";
import type { AuditStore } from "../store.ts";
import { canonicalJson, toJsonValue } from "./canonical-json.ts";
import { collectLog, type LogEvidence, type Selection } from "./collect.ts";
import { mapControls } from "./controls.ts";
import { renderHtml } from "./html.ts";
import { summarize, toCsv } from "./summary.ts";
import { writeTarGz } from "./tar.ts";

export const MANIFEST_DOMAIN = "custos-evidence-manifest/1\n";
export const BUNDLE_FORMAT = "custos-evidence/1";
const VERIFIER = projectFile("src/audit/evidence/verifier.py");

export interface ExportInput {
  store: AuditStore;
  selection: Selection;
  /** Signs the manifest: the gateway key (its public half must be one of the logs' keys). */
  signer: { publicKey: Uint8Array; sign(message: Uint8Array): Promise<Uint8Array> };
  /** Connections and entitlements, without secrets (built by the CLI from the configuration). */
  inventory: { connections: unknown; entitlements: unknown };
  /** Approval request and decision rows as stored (projection; the events prove them). */
  approvals: { requests: unknown[]; decisions: unknown[] };
  /** Policy bundle files whose content is at hand, by SHA-256 hex (the file's hash, as events name it). */
  policyBundles: Map<string, Uint8Array>;
  now?: number;
}

export interface ExportResult {
  bytes: Uint8Array;
  logs: LogEvidence[];
  events: number;
  unproven: number;
}

const text = (s: string) => new TextEncoder().encode(s);
const json = (v: unknown) => text(`${JSON.stringify(v, null, 2)}\n`);
const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, "_");

export async function exportEvidence(input: ExportInput): Promise<ExportResult> {
  const now = input.now ?? Date.now();
  const { selection: sel } = input;
  const logs: LogEvidence[] = [];
  for (const log of await input.store.logs()) {
    const ev = await collectLog(input.store, log, sel);
    if (ev.events.length > 0 || ev.unproven > 0) logs.push(ev);
  }
  const files = new Map<string, Uint8Array>();
  const recordings: Record<string, unknown>[] = [];
  for (const log of logs) {
    const base = `logs/${log.logId}`;
    files.set(`${base}/public-key.json`, json(publicKeyJson(log.publicKey)));
    // A pruned event keeps its leaf hash and inclusion proof: it existed and was not altered, but its
    // content is gone and the bundle says so (the manifest lists which).
    const lines = log.events.map(({ row, event, pruned }) =>
      canonicalJson(
        pruned
          ? { leaf_hash: hex(row.leafHash), pruned: true, seq: row.seq, type: row.type }
          : {
              body_b64: Buffer.from(row.body).toString("base64"),
              event: toJsonValue(event),
              leaf_hash: hex(row.leafHash),
              seq: row.seq,
            },
      ),
    );
    files.set(`${base}/events.jsonl`, text(lines.map((l) => `${l}\n`).join("")));
    files.set(
      `${base}/checkpoints.json`,
      json(
        log.checkpoints.map((c) => ({
          size: c.size,
          time: c.time,
          root_hash_hex: hex(c.rootHash),
          body: checkpointBody(c.logId, c.size, c.rootHash, c.time),
          note: signedNote(c, log.publicKey),
        })),
      ),
    );
    const proofs = log.events.map((e) =>
      canonicalJson({
        proof: (log.inclusion.get(e.row.seq) ?? []).map(hex),
        seq: e.row.seq,
        tree_size: log.treeSize,
      }),
    );
    files.set(`${base}/inclusion-proofs.jsonl`, text(proofs.map((l) => `${l}\n`).join("")));
    files.set(
      `${base}/consistency-proofs.json`,
      json(log.consistency.map((c) => ({ from: c.from, to: c.to, proof: c.proof.map(hex) }))),
    );
    for (const r of log.recordings) {
      if (!r.data || r.data.length === 0) {
        recordings.push({
          log_id: log.logId,
          session_id: r.sessionId,
          batch: r.batch,
          event_seq: r.eventSeq,
          sha256: hex(r.sha256),
          pruned: true,
        });
        continue;
      }
      const path = `recordings/${log.logId}/${safe(r.sessionId)}/${r.batch}.msgpack`;
      files.set(path, new Uint8Array(r.data));
      recordings.push({
        log_id: log.logId,
        session_id: r.sessionId,
        batch: r.batch,
        event_seq: r.eventSeq,
        frames: r.frameCount,
        sha256: hex(r.sha256),
        path,
      });
    }
  }
  files.set("recordings/index.json", json(recordings));

  // Policy bundles in force: every hash a gateway.start or policy.reload names, when, and the content
  // when the file at hand has that hash.
  const { summary, access } = summarize(logs);
  const loads = new Map<string, Record<string, unknown>[]>();
  for (const p of summary.policy_loads) {
    if (typeof p.bundle !== "string") continue;
    loads.set(p.bundle, [...(loads.get(p.bundle) ?? []), p]);
  }
  const bundles = [...loads].map(([hash, events]) => {
    const content = input.policyBundles.get(hash);
    if (content) files.set(`policy/${hash}.tar.gz`, content);
    return {
      sha256: hash,
      loaded: events,
      content: content ? `policy/${hash}.tar.gz` : null,
      note: content ? undefined : "the bundle file at hand no longer has this hash: content not available",
    };
  });
  files.set("policy/bundles.json", json(bundles));
  files.set("inventory/connections.json", json(input.inventory.connections));
  files.set("inventory/entitlements.json", json(input.inventory.entitlements));
  files.set("approvals/requests.json", json(input.approvals.requests));
  files.set("approvals/decisions.json", json(input.approvals.decisions));

  const eventsByType: Record<string, number> = {};
  for (const l of logs)
    for (const e of l.events) eventsByType[e.row.type] = (eventsByType[e.row.type] ?? 0) + 1;
  const controls = mapControls({
    summary,
    eventsByType,
    checkpoints: logs.reduce((n, l) => n + l.checkpoints.length, 0),
    consistencyProofs: logs.reduce((n, l) => n + l.consistency.length, 0),
    recordings: recordings.length,
    policyContents: bundles.filter((b) => b.content).length,
    connections: Array.isArray(input.inventory.connections) ? input.inventory.connections.length : 0,
    approvalRows: input.approvals.requests.length,
  });
  const iso = (ms: number) => new Date(ms).toISOString();
  const filters = { connection: sel.connection ?? null, subject: sel.subject ?? null };
  const fingerprint = (k: Uint8Array) => hex(sha256(k));
  files.set("report/controls.json", json(controls));
  files.set("report/summary.json", json(summary));
  files.set("report/access.csv", text(toCsv(access)));
  files.set(
    "report/index.html",
    text(
      renderHtml(
        {
          createdAt: iso(now),
          from: iso(sel.from),
          to: iso(sel.to),
          filters,
          signerFingerprint: fingerprint(input.signer.publicKey),
          logs: logs.map((l) => ({
            logId: l.logId,
            fingerprint: fingerprint(l.publicKey),
            events: l.events.length,
            checkpoints: l.checkpoints.length,
            treeSize: l.treeSize,
            unproven: l.unproven,
          })),
        },
        controls,
        summary,
      ),
    ),
  );
  files.set("verify.py", readFileSync(VERIFIER));
  files.set("README.txt", text(BUNDLE_README));

  const manifest = {
    format: BUNDLE_FORMAT,
    created_at: now,
    range: { from: sel.from, to: sel.to },
    filters,
    signer: { public_key_hex: hex(input.signer.publicKey) },
    logs: logs.map((l) => ({
      log_id: l.logId,
      public_key_hex: hex(l.publicKey),
      tree_size: l.treeSize,
      checkpoints: l.checkpoints.map((c) => c.size),
      events: l.events.map((e) => e.row.seq),
      pruned_events: l.events.filter((e) => e.pruned).map((e) => e.row.seq),
      unproven_events: l.unproven,
    })),
    recordings,
    files: Object.fromEntries([...files].map(([p, d]) => [p, hex(sha256(d))])),
  };
  const manifestBytes = json(manifest);
  const signature = await input.signer.sign(Buffer.concat([text(MANIFEST_DOMAIN), manifestBytes]));
  const ordered = new Map<string, Uint8Array>([
    ["MANIFEST.json", manifestBytes],
    ["MANIFEST.sig", text(`${Buffer.from(signature).toString("base64")}\n`)],
    ...files,
  ]);
  return {
    bytes: writeTarGz(ordered, "evidence", now, new Set(["verify.py"])),
    logs,
    events: logs.reduce((n, l) => n + l.events.length, 0),
    unproven: logs.reduce((n, l) => n + l.unproven, 0),
  };
}

function publicKeyJson(key: Uint8Array) {
  // SubjectPublicKeyInfo for Ed25519 (RFC 8410 §4): fixed 12-byte prefix, then the raw key.
  const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), key]);
  const pem = `-----BEGIN PUBLIC KEY-----\n${spki.toString("base64")}\n-----END PUBLIC KEY-----\n`;
  return { algorithm: "Ed25519", public_key_hex: hex(key), sha256_fingerprint: hex(sha256(key)), pem };
}

const BUNDLE_README = `Custos evidence bundle (${BUNDLE_FORMAT})

Verify offline, with nothing but Python 3:
  tar xzf BUNDLE.tar.gz evidence/verify.py
  python3 evidence/verify.py BUNDLE.tar.gz --public-key OPERATOR_KEY.pem
Compare the printed verifier SHA-256 with the one the operator publishes (or keep your own copy of
verify.py from the Custos source), and pin the operator's public key: without --public-key the
verifier proves the bundle is consistent, not who made it.

Layout
  MANIFEST.json, MANIFEST.sig   every file's SHA-256, the events and checkpoints included; Ed25519
                                signature over "${MANIFEST_DOMAIN.trim()}\\n" + MANIFEST.json
  logs/<log>/events.jsonl       one event per line: seq, leaf_hash (hex), body_b64 (the logged
                                canonical msgpack bytes), event (the same body decoded; byte strings
                                as {"$base64": ...})
  logs/<log>/inclusion-proofs.jsonl   RFC 6962 audit path of each event in the tree of the last checkpoint
  logs/<log>/consistency-proofs.json  RFC 6962 consistency proofs between consecutive checkpoints
  logs/<log>/checkpoints.json   signed checkpoints as C2SP signed notes
  logs/<log>/public-key.json    the log's Ed25519 key (hex, PEM, SHA-256 fingerprint)
  recordings/<log>/<session>/<batch>.msgpack   session recordings as stored (masked streams)
  policy/                       policy bundles in force (hash, load times, content when available)
  inventory/                    connections and entitlements from the configuration (no secrets)
  approvals/                    access requests and approvals as stored
  report/index.html             FFIEC F1-F17 mapping and summaries; controls.json, summary.json, access.csv
`;
