import { expect, test } from "bun:test";
import type { EventRow } from "../store.ts";
import { formatRecord, nativeRecord } from "./format.ts";
import type { SessionContext, StreamItem } from "./stream-item.ts";

const item = (type: string, data: Record<string, unknown>, session?: SessionContext): StreamItem => {
  const row: EventRow = {
    logId: "gw-1",
    seq: 7,
    time: 1000,
    type,
    sessionId: "s1",
    body: new Uint8Array(),
    leafHash: new Uint8Array(32).fill(1),
  };
  return { kind: "event", logId: "gw-1", row, data, ...(session ? { session } : {}) };
};
const ctx: SessionContext = {
  subject: "agent@x",
  issuer: "https://idp",
  groups: ["agents"],
  kind: "agent",
  connection: "ledger",
  protocol: "postgres",
  targetUser: "app",
  targetDatabase: "ledger",
  clientAddr: "10.0.0.9",
  application: "psql",
};

test("native: the logged event with its position and leaf; byte strings as base64", () => {
  const r = nativeRecord(item("statement", { text: "select 1", blob: new Uint8Array([1, 2]) }));
  expect(r).toEqual({
    schema: "custos/1",
    kind: "event",
    log_id: "gw-1",
    seq: 7,
    leaf_hash: "01".repeat(32),
    time: 1000,
    type: "statement",
    session_id: "s1",
    data: { blob: { $base64: "AQI=" }, text: "select 1" },
  });
});

test("a secret-named field that reached an event is scrubbed again on the way out", () => {
  const r = nativeRecord(item("upstream.error", { detail: { password: "hunter2", api_key: "k" } }));
  expect(JSON.stringify(r)).not.toContain("hunter2");
  expect((r.data as { detail: Record<string, string> }).detail).toEqual({
    api_key: "[redacted]",
    password: "[redacted]",
  });
});

test("OCSF: statements are Datastore Activity with the session's actor; denials blocked", () => {
  const denied = formatRecord(
    item("statement", { action: "deny", keyword: "delete", text: "delete from t", rule: "r" }, ctx as never),
    "ocsf",
    "0.1.0",
  );
  expect(denied).toMatchObject({
    class_uid: 6005,
    category_uid: 6,
    activity_id: 7,
    type_uid: 600507,
    disposition_id: 2,
    status_id: 2,
    severity_id: 3,
    actor: {
      user: { uid: "agent@x", type: "agent", groups: [{ name: "agents" }] },
      idp: { name: "https://idp" },
    },
    src_endpoint: { ip: "10.0.0.9" },
    database: { name: "ledger" },
    query_info: { query_string: "delete from t" },
    metadata: { version: "1.3.0", product: { name: "Custos" }, log_name: "gw-1", sequence: 7, uid: "gw-1:7" },
  });
  expect((denied.unmapped as { custos: unknown }).custos).toEqual(
    nativeRecord(item("statement", { action: "deny", keyword: "delete", text: "delete from t", rule: "r" })),
  );
});

test("OCSF: authentication, HTTP as API Activity, approvals as Account Change, checkpoints as Base Event", () => {
  expect(formatRecord(item("auth.failure", { code: "identity.expired" }), "ocsf", "v")).toMatchObject({
    class_uid: 3002,
    activity_id: 1,
    status_id: 2,
    status_detail: "identity.expired",
  });
  expect(
    formatRecord(
      item("statement", { action: "allow", method: "POST", path: "/v1/pay" }, {
        ...ctx,
        protocol: "http",
      } as never),
      "ocsf",
      "v",
    ),
  ).toMatchObject({ class_uid: 6003, activity_id: 1, api: { operation: "POST /v1/pay" } });
  expect(
    formatRecord(item("approval.approved", { kind: "access", requester: "bob" }), "ocsf", "v"),
  ).toMatchObject({ class_uid: 3001, activity_id: 7, user: { name: "bob" } });
  const cp: StreamItem = {
    kind: "checkpoint",
    logId: "gw-1",
    cp: { logId: "gw-1", size: 9, rootHash: new Uint8Array(32), time: 5, signature: new Uint8Array(64) },
    note: "n",
    publicKey: new Uint8Array(32),
  };
  expect(formatRecord(cp, "ocsf", "v")).toMatchObject({
    class_uid: 0,
    unmapped: { custos: { kind: "checkpoint", size: 9, signed_note: "n" } },
  });
});

test("free-text fields go through the redactor, identities do not, and the record says it was redacted", () => {
  const redact = (t: string) => t.replace(/\d{3}-\d{2}-\d{4}/g, "[REDACTED:ssn]");
  const r = nativeRecord(
    item("statement", {
      text: "where ssn = '078-05-1120'",
      subject: "078-05-1120@x",
      params: ["078-05-1120"],
    }),
    redact,
  );
  expect(r.data).toEqual({
    params: ["[REDACTED:ssn]"],
    subject: "078-05-1120@x",
    text: "where ssn = '[REDACTED:ssn]'",
  });
  expect(r.redacted).toBe(true);
  expect(nativeRecord(item("statement", { text: "select 1" }), redact).redacted).toBeUndefined();
  const o = formatRecord(
    item("statement", { text: "where ssn = '078-05-1120'", keyword: "select" }),
    "ocsf",
    "v",
    redact,
  );
  expect(JSON.stringify(o)).not.toContain("078-05-1120");
});
