// The two schemas a sink may ask for. native: Custos's own event, as logged. ocsf: an OCSF 1.3-shaped
// record (Authentication 3002, Datastore Activity 6005, API Activity 6003, Account Change 3001, else the
// Base Event 0), with the native record kept whole in `unmapped.custos`.
// Both are built from the stored event, which never holds secrets or row values; scrub() runs again here
// as defence in depth, and recordings (the only place result data lives, masked) are never streamed.
import { hex, scrub } from "../codec.ts";
import { toJsonValue } from "../evidence/canonical-json.ts";
import type { StreamItem } from "./stream-item.ts";

export type SinkFormat = "ocsf" | "native";
/** Replaces regulated values found in a text (the masking detectors, injected by the gateway). */
export type Redact = (text: string) => string;
const OCSF_VERSION = "1.3.0";
/** Free-text fields an agent controls (statement text, bind parameters, error messages, the policy input
 * whose command text is the statement's): scanned. */
const FREE_TEXT = new Set(["text", "params", "statement", "message", "error", "detail", "query", "input"]);

/** scrub() again, then `redact` over the free-text fields; `changed` says whether redact found anything. */
export function cleanData(
  data: Record<string, unknown>,
  redact?: Redact,
): { data: Record<string, unknown>; changed: boolean } {
  const scrubbed = scrub(data) as Record<string, unknown>;
  if (!redact) return { data: scrubbed, changed: false };
  let changed = false;
  const deep = (v: unknown, depth: number): unknown => {
    if (typeof v === "string") {
      const r = redact(v);
      if (r !== v) changed = true;
      return r;
    }
    if (depth > 32 || v === null || typeof v !== "object" || v instanceof Uint8Array) return v;
    if (Array.isArray(v)) return v.map((x) => deep(x, depth + 1));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x, depth + 1)]));
  };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(scrubbed)) out[k] = FREE_TEXT.has(k) ? deep(v, 0) : v;
  return { data: out, changed };
}

export function nativeRecord(item: StreamItem, redact?: Redact): Record<string, unknown> {
  if (item.kind === "checkpoint") {
    return {
      schema: "custos/1",
      kind: "checkpoint",
      log_id: item.logId,
      size: item.cp.size,
      root_hash: Buffer.from(item.cp.rootHash).toString("base64"),
      time: item.cp.time,
      signed_note: item.note,
      public_key_hex: hex(item.publicKey),
    };
  }
  const r = item.row;
  const clean = cleanData(item.data, redact);
  return {
    schema: "custos/1",
    kind: "event",
    log_id: item.logId,
    seq: r.seq,
    leaf_hash: hex(r.leafHash),
    time: r.time,
    type: r.type,
    session_id: r.sessionId,
    data: toJsonValue(clean.data),
    // The data differs from the logged body (which leaf_hash covers): regulated values were redacted.
    ...(clean.changed ? { redacted: true } : {}),
  };
}

export function formatRecord(
  item: StreamItem,
  format: SinkFormat,
  version: string,
  redact?: Redact,
): Record<string, unknown> {
  const native = nativeRecord(item, redact);
  if (format === "native") return native;
  const clean = item.kind === "event" ? { ...item, data: cleanData(item.data, redact).data } : item;
  return ocsfRecord(clean, native, version);
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);

function ocsfRecord(
  item: StreamItem,
  native: Record<string, unknown>,
  version: string,
): Record<string, unknown> {
  const base = (classUid: number, categoryUid: number, activityId: number, className: string) => ({
    class_uid: classUid,
    class_name: className,
    category_uid: categoryUid,
    activity_id: activityId,
    type_uid: classUid * 100 + activityId,
  });
  const metadata = (seq: number | undefined, logName: string) => ({
    version: OCSF_VERSION,
    product: { name: "Custos", vendor_name: "Custos", version },
    log_name: logName,
    ...(seq === undefined ? {} : { sequence: seq, uid: `${logName}:${seq}` }),
  });
  if (item.kind === "checkpoint") {
    return {
      ...base(0, 0, 99, "Base Event"),
      activity_name: "Signed checkpoint",
      time: item.cp.time,
      severity_id: 1,
      status_id: 1,
      message: `audit log ${item.logId} checkpoint at size ${item.cp.size}`,
      metadata: metadata(undefined, item.logId),
      unmapped: { custos: native },
    };
  }
  const { row, data, session } = item;
  const d = data;
  const subject = str(d.subject) ?? session?.subject ?? str(d.requester);
  const groups = Array.isArray(d.groups) ? d.groups : (session?.groups ?? []);
  const actor = subject
    ? {
        user: {
          uid: subject,
          name: subject,
          type: str(d.kind) ?? session?.kind ?? undefined,
          groups: (groups as unknown[]).filter((g) => typeof g === "string").map((name) => ({ name })),
        },
        ...((str(d.issuer) ?? session?.issuer) ? { idp: { name: str(d.issuer) ?? session?.issuer } } : {}),
      }
    : undefined;
  const clientAddr = str(d.client_addr) ?? session?.clientAddr ?? undefined;
  const common = {
    time: row.time,
    metadata: metadata(row.seq, item.logId),
    ...(actor ? { actor } : {}),
    ...(clientAddr ? { src_endpoint: { ip: clientAddr } } : {}),
    unmapped: { custos: native },
  };
  const service = {
    name: str(d.connection) ?? session?.connection ?? undefined,
  };
  switch (row.type) {
    case "auth.success":
    case "auth.failure":
    case "access.denied":
    case "session.start":
    case "session.end": {
      const failed =
        row.type !== "auth.success" && row.type !== "session.start" && row.type !== "session.end";
      return {
        ...base(3002, 3, row.type === "session.end" ? 2 : 1, "Authentication"),
        ...common,
        severity_id: failed ? 3 : 1,
        status_id: failed ? 2 : 1,
        ...(failed ? { status_detail: str(d.code) ?? str(d.message) } : {}),
        auth_protocol: str(d.method) ?? undefined,
        service,
        ...(row.type.startsWith("session.")
          ? { user: { name: session?.targetUser ?? str(d.target_user) }, session: { uid: row.sessionId } }
          : {}),
        message: row.type,
      };
    }
    case "statement": {
      const http = (session?.protocol ?? "") === "http" || str(d.method) !== undefined;
      const denied = d.action === "deny";
      const failed = denied || (d.error !== undefined && d.error !== null);
      const outcome = {
        severity_id: denied ? 3 : 1,
        status_id: failed ? 2 : 1,
        disposition_id: denied ? 2 : 1,
        message: `${str(d.action) ?? "?"}: ${str(d.rule) ?? ""}`.trim(),
        session: { uid: row.sessionId },
      };
      if (http) {
        const method = (str(d.method) ?? str(d.keyword) ?? "").toUpperCase();
        const activity = { POST: 1, GET: 2, HEAD: 2, PUT: 3, PATCH: 3, DELETE: 4 }[method] ?? 99;
        return {
          ...base(6003, 6, activity, "API Activity"),
          ...common,
          ...outcome,
          api: { operation: `${method} ${str(d.path) ?? str(d.text) ?? ""}`.trim(), service },
        };
      }
      const kw = (str(d.keyword) ?? "").toLowerCase();
      const activity = { select: 4, insert: 6, update: 2, delete: 7, copy: 1 }[kw] ?? 99;
      return {
        ...base(6005, 6, activity, "Datastore Activity"),
        ...common,
        ...outcome,
        database: { name: session?.targetDatabase ?? undefined, type: "PostgreSQL" },
        query_info: { query_string: str(d.text) },
        dst_endpoint: { svc_name: service.name },
      };
    }
    default:
      if (row.type.startsWith("approval.")) {
        const activity =
          { "approval.approved": 7, "approval.revoked": 8, "approval.expired": 8 }[row.type] ?? 99;
        return {
          ...base(3001, 3, activity, "Account Change"),
          ...common,
          activity_name: row.type,
          severity_id: 1,
          status_id: row.type === "approval.denied" ? 2 : 1,
          user: { name: str(d.requester) },
          message: `${row.type} ${str(d.kind) ?? ""} ${str(d.request_id) ?? ""}`.trim(),
        };
      }
      return {
        ...base(0, 0, 99, "Base Event"),
        ...common,
        activity_name: row.type,
        severity_id: 1,
        status_id: 1,
        message: row.type,
      };
  }
}
