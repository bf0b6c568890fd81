// SIEM streaming end to end: a real gateway in front of a real PostgreSQL streams its audit log to rsyslog
// (plain TCP, native schema; TLS, OCSF), to an HTTP receiver (generic JSON with HMAC, Splunk HEC with its
// token) and to a rotating JSON Lines file, all at once. The receivers are killed and restarted
// mid-stream, then the gateway is stopped while they are down and started again; every event the log
// holds must arrive at every sink exactly as logged (duplicates allowed, detectable by seq), and every
// checkpoint with it, verifiable with the gateway's key. No secret and no unmasked value reaches a sink.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyCheckpoint } from "../../src/audit/checkpoint.ts";
import { decodeEvent, hex } from "../../src/audit/codec.ts";
import { toJsonValue } from "../../src/audit/evidence/canonical-json.ts";
import { cleanData } from "../../src/audit/siem/format.ts";
import { syslogSink } from "../../src/audit/siem/syslog-sink.ts";
import { type AuditStore, type EventRow, openStore } from "../../src/audit/store.ts";
import { fixtureSecrets, fixtureSql } from "../../src/demo/fixture.ts";
import { MaskingEngine } from "../../src/masking/engine.ts";
import { siemRedactor } from "../../src/pipeline/siem-redact.ts";
import { freePort } from "../support/free-port.ts";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import { type Rsyslog, startRsyslog } from "../support/rsyslog.ts";
import { type Receiver, startReceiver } from "./receiver.ts";

let pg: PgServer;
let issuer: OidcIssuer;
let rsyslog: Rsyslog;
let receiver: Receiver;
let dataDir: string;
let siemConfig: Record<string, unknown>[];
let gw: TestGateway;
const HMAC = "hmac-key-for-the-test-receiver-0123456789";
const HEC = "hec-token-0f1e2d3c4b5a";
const tokens: string[] = [];
const redact = siemRedactor(new MaskingEngine({}));
const SINKS = ["rsyslog-tcp", "rsyslog-tls", "http-json", "hec", "file"];

async function gateway(): Promise<TestGateway> {
  return startTestGateway({ pg, issuer, dataDir, config: { siem: siemConfig } });
}

async function statements(g: TestGateway, subject: string, sql: string[]) {
  const token = await g.token(subject, ["agents"]);
  tokens.push(token);
  for (const s of sql) await psql(g.url(token), ["-tA", "-c", s]);
}

async function healthz(g: TestGateway): Promise<{
  siem: { name: string; nextSeq: number; failures: number; lagSeconds: number; lastError: string | null }[];
}> {
  return (await fetch(`http://127.0.0.1:${g.httpPort}/healthz`)).json() as never;
}

async function withStore<T>(fn: (s: AuditStore) => Promise<T>): Promise<T> {
  const s = await openStore(`sqlite:${dataDir}/audit.db`);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** Waits until every sink has acknowledged every event committed so far (and the log stopped growing). */
async function caughtUp(g: TestGateway): Promise<number> {
  await g.gw.recorder.durable();
  for (const until = Date.now() + 45_000; Date.now() < until; await Bun.sleep(200)) {
    const size = await withStore((s) => s.logSize(g.gw.logId));
    const h = await healthz(g);
    if (h.siem.length === SINKS.length && h.siem.every((x) => x.nextSeq === size && x.lagSeconds === 0))
      return size;
  }
  throw new Error(`sinks did not catch up: ${JSON.stringify((await healthz(g)).siem)}`);
}

beforeAll(async () => {
  pg = await startPostgres();
  pg.sql(fixtureSql(), "ledger");
  pg.sql(`grant select on all tables in schema public to ${pg.roles.scram.user}`, "ledger");
  issuer = await startOidcIssuer();
  rsyslog = await startRsyslog();
  receiver = startReceiver({ port: await freePort(), hmacKey: HMAC, hecToken: HEC });
  dataDir = mkdtempSync(join(tmpdir(), "custos-siem-"));
  const secrets = mkdtempSync(join(tmpdir(), "custos-siem-secrets-"));
  writeFileSync(join(secrets, "hmac"), HMAC);
  writeFileSync(join(secrets, "hec"), HEC);
  siemConfig = [
    {
      type: "syslog",
      name: "rsyslog-tcp",
      address: `127.0.0.1:${rsyslog.tcpPort}`,
      transport: "tcp",
      format: "native",
      hostname: "sink-tcp",
    },
    {
      type: "syslog",
      name: "rsyslog-tls",
      address: `127.0.0.1:${rsyslog.tlsPort}`,
      transport: "tls",
      ca_file: rsyslog.caFile,
      format: "ocsf",
      hostname: "sink-tls",
    },
    {
      type: "http",
      name: "http-json",
      url: `http://127.0.0.1:${receiver.port}/ingest`,
      shape: "json",
      secret_file: join(secrets, "hmac"),
      format: "native",
    },
    {
      type: "http",
      name: "hec",
      url: `http://127.0.0.1:${receiver.port}/services/collector`,
      shape: "splunk_hec",
      token_file: join(secrets, "hec"),
      format: "ocsf",
    },
    {
      type: "file",
      name: "file",
      path: join(dataDir, "siem", "events.jsonl"),
      max_size: "16KiB",
      keep: 100,
      format: "native",
    },
  ];
  gw = await gateway();
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  receiver?.stop();
  await rsyslog?.stop();
  await issuer?.stop();
  await pg?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

let finalSize = 0;
let logId = "";

describe("streaming across receiver and gateway restarts", () => {
  test("phase 1: every sink catches up", async () => {
    await statements(gw, "agent-siem-1@bank.example", [
      "select id, full_name from customers order by id limit 3",
      "select id, ssn, card_number from customers order by id limit 5",
      "delete from customers",
      // A literal regulated value in the agent's own statement: logged, but redacted on the way out.
      `select id from customers where ssn = '${fixtureSecrets()[0]}'`,
    ]);
    expect(await caughtUp(gw)).toBeGreaterThan(10);
  }, 60_000);

  test("phase 2: receivers killed mid-stream are counted as failures and lag, then resumed", async () => {
    await rsyslog.kill();
    receiver.stop();
    await statements(gw, "agent-siem-2@bank.example", [
      "select count(*) from accounts",
      "select id, ssn from customers limit 2",
    ]);
    await gw.gw.recorder.durable();
    for (const until = Date.now() + 20_000; Date.now() < until; await Bun.sleep(200)) {
      const h = await healthz(gw);
      if (h.siem.filter((s) => s.name !== "file").every((s) => s.failures > 0 && s.lagSeconds > 0)) break;
    }
    const h = await healthz(gw);
    for (const s of h.siem.filter((x) => x.name !== "file")) {
      expect(s.failures).toBeGreaterThan(0);
      expect(s.lastError).not.toBeNull();
    }
    const metrics = await (await fetch(`http://127.0.0.1:${gw.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/custos_siem_delivery_failures_total\{sink="rsyslog-tcp"\} [1-9]/);
    expect(metrics).toMatch(/custos_siem_lag_seconds\{sink="hec"\} (?!0\n)[0-9.]+/);
    // The file sink had no outage: it kept up, with no failure.
    expect(h.siem.find((x) => x.name === "file")?.failures).toBe(0);
    await rsyslog.start();
    receiver.start();
    await caughtUp(gw);
  }, 90_000);

  test("phase 3: the gateway stopped while receivers are down resumes from its cursors", async () => {
    await rsyslog.kill();
    receiver.stop();
    await statements(gw, "agent-siem-3@bank.example", [
      "select id from accounts limit 1",
      "update accounts set balance = 0",
    ]);
    await gw.gw.recorder.durable();
    logId = gw.gw.logId;
    await gw.gw.stop();
    gw = await gateway();
    expect(gw.gw.logId).toBe(logId);
    await statements(gw, "agent-siem-4@bank.example", ["select id, full_name from customers limit 2"]);
    await rsyslog.start();
    receiver.start();
    finalSize = await caughtUp(gw);
  }, 120_000);
});

interface Received {
  sink: string;
  records: Record<string, unknown>[];
}

function received(): Received[] {
  const sys = rsyslog.lines().map((line) => {
    const host = line.split(" ")[2];
    const json = line.slice(line.indexOf("] ") + 2).replace(/^\uFEFF/, "");
    return { host, record: JSON.parse(json) as Record<string, unknown> };
  });
  const dir = join(dataDir, "siem");
  const files = readdirSync(dir)
    .filter((f) => f.startsWith("events.jsonl"))
    .sort((a, b) => Number(b.split(".")[2] ?? 0) - Number(a.split(".")[2] ?? 0)); // oldest (.N) first
  const fileRecords = files.flatMap((f) =>
    readFileSync(join(dir, f), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
  );
  return [
    { sink: "rsyslog-tcp", records: sys.filter((s) => s.host === "sink-tcp").map((s) => s.record) },
    { sink: "rsyslog-tls", records: sys.filter((s) => s.host === "sink-tls").map((s) => s.record) },
    { sink: "http-json", records: receiver.records.get("/ingest") ?? [] },
    {
      sink: "hec",
      records: (receiver.records.get("/services/collector") ?? []).map(
        (r) => r.event as Record<string, unknown>,
      ),
    },
    { sink: "file", records: fileRecords },
  ];
}

/** The native record inside an OCSF one (unmapped.custos), or the record itself. */
const native = (r: Record<string, unknown>) =>
  ((r.unmapped as { custos?: Record<string, unknown> } | undefined)?.custos ?? r) as Record<string, unknown>;

describe("what the sinks hold", () => {
  test("every event of the log, exactly as logged, in order, at every sink; duplicates only by seq", async () => {
    const rows: EventRow[] = await withStore((s) => s.readEvents(logId, 0, finalSize));
    expect(rows.length).toBe(finalSize);
    for (const { sink, records } of received()) {
      const events = records.map(native).filter((r) => r.kind === "event");
      const bySeq = new Map<number, Record<string, unknown>>();
      const firstSeen: number[] = [];
      for (const e of events) {
        const seq = e.seq as number;
        if (!bySeq.has(seq)) firstSeen.push(seq);
        else
          expect({ sink, seq, same: JSON.stringify(bySeq.get(seq)) === JSON.stringify(e) }).toEqual({
            sink,
            seq,
            same: true,
          });
        bySeq.set(seq, e);
      }
      // None missing, first arrivals in log order.
      expect({ sink, missing: rows.filter((r) => !bySeq.has(r.seq)).map((r) => r.seq) }).toEqual({
        sink,
        missing: [],
      });
      expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
      for (const row of rows) {
        const e = bySeq.get(row.seq)!;
        const want = {
          leaf: hex(row.leafHash),
          type: row.type,
          time: row.time,
          // As logged, with the regulated values of free text redacted (as the gateway's redactor does).
          data: JSON.stringify(toJsonValue(cleanData(decodeEvent(row.body).data, redact).data)),
        };
        expect({
          sink,
          seq: row.seq,
          leaf: e.leaf_hash,
          type: e.type,
          time: e.time,
          data: JSON.stringify(e.data),
        }).toEqual({ sink, seq: row.seq, ...want });
      }
      if (sink === "rsyslog-tcp" || sink === "http-json" || sink === "hec") {
        // The outages produced duplicates or not, but the count is never below the log's.
        expect(events.length).toBeGreaterThanOrEqual(rows.length);
      }
    }
  });

  test("every checkpoint travels in the stream and verifies with the gateway's key", async () => {
    const { cps, key } = await withStore(async (s) => ({
      cps: (await s.checkpoints(logId)).filter((c) => c.size <= finalSize),
      key: (await s.logs()).find((l) => l.logId === logId)!.publicKey,
    }));
    expect(cps.length).toBeGreaterThan(2);
    for (const { sink, records } of received()) {
      const got = records.map(native).filter((r) => r.kind === "checkpoint");
      const sizes = new Set(got.map((c) => c.size));
      expect({ sink, missing: cps.filter((c) => !sizes.has(c.size)).map((c) => c.size) }).toEqual({
        sink,
        missing: [],
      });
      for (const c of got) {
        expect(c.public_key_hex).toBe(hex(key));
        const ok = await verifyCheckpoint(key, {
          logId,
          size: c.size as number,
          rootHash: new Uint8Array(Buffer.from(c.root_hash as string, "base64")),
          time: c.time as number,
          signature: new Uint8Array(
            Buffer.from((c.signed_note as string).split(" ").at(-1)!, "base64").subarray(4),
          ),
        });
        expect({ sink, size: c.size, ok }).toEqual({ sink, size: c.size, ok: true });
      }
    }
  });

  test("OCSF records carry the classes for authentication, database activity and account-side events", () => {
    const tls = received().find((r) => r.sink === "rsyslog-tls")!.records;
    const byType = (t: string) => tls.find((r) => native(r).type === t)!;
    expect(byType("auth.success")).toMatchObject({
      class_uid: 3002,
      activity_id: 1,
      status_id: 1,
      actor: { user: { uid: expect.any(String) } },
    });
    expect(byType("session.end")).toMatchObject({ class_uid: 3002, activity_id: 2 });
    const denied = tls.find(
      (r) =>
        native(r).type === "statement" &&
        (native(r).data as { action?: string; text?: string }).action === "deny" &&
        (native(r).data as { text?: string }).text === "delete from customers",
    )!;
    expect(denied).toMatchObject({
      class_uid: 6005,
      category_uid: 6,
      activity_id: 7,
      disposition_id: 2,
      status_id: 2,
      type_uid: 600507,
    });
    expect((denied.actor as { user: { uid: string } }).user.uid).toMatch(/^agent-siem-\d@bank\.example$/);
    const select = tls.find(
      (r) => native(r).type === "statement" && (native(r).data as { keyword?: string }).keyword === "select",
    )!;
    expect(select).toMatchObject({
      class_uid: 6005,
      activity_id: 4,
      disposition_id: 1,
      metadata: { product: { name: "Custos" }, log_name: logId },
    });
    expect(tls.some((r) => native(r).kind === "checkpoint" && r.class_uid === 0)).toBe(true);
  });

  test("no secret and no unmasked regulated value reaches any sink", () => {
    const all = [
      readFileSync(rsyslog.output, "latin1"),
      ...receiver.rawBodies,
      ...readdirSync(join(dataDir, "siem")).map((f) => readFileSync(join(dataDir, "siem", f), "latin1")),
    ].join("\n");
    expect(all).not.toContain(pg.roles.scram.password);
    expect(all).not.toContain(HMAC);
    expect(all).not.toContain(HEC);
    for (const t of tokens) expect(all).not.toContain(t.split(".")[2]!);
    expect(fixtureSecrets().filter((s) => all.includes(s))).toEqual([]);
    expect(receiver.refused).toBe(0);
    // Records without a data member (checkpoints, some lifecycle events) sit beside the statements.
    // The statement that carried the SSN arrived, redacted and marked so (it no longer hashes to its leaf).
    const tcp = received().find((r) => r.sink === "rsyslog-tcp")!.records;
    const literal = tcp.find((r) =>
      String((r.data as { text?: string } | undefined)?.text ?? "").includes("where ssn ="),
    )!;
    expect((literal.data as { text: string }).text).toBe(
      "select id from customers where ssn = '[REDACTED:ssn]'",
    );
    expect(literal.redacted).toBe(true);
    // Identities stay attributable: a subject is not a regulated value.
    expect(
      tcp.some((r) => (r.data as { subject?: string } | undefined)?.subject === "agent-siem-1@bank.example"),
    ).toBe(true);
  });

  test("TLS to rsyslog refuses a server the configured CA did not sign", async () => {
    const other = mkdtempSync(join(tmpdir(), "custos-other-ca-"));
    Bun.spawnSync([
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-keyout",
      join(other, "k"),
      "-out",
      join(other, "c"),
    ]);
    const wrong = syslogSink({
      name: "w",
      format: "native",
      host: "127.0.0.1",
      port: rsyslog.tlsPort,
      transport: "tls",
      ca: readFileSync(join(other, "c"), "utf8"),
      hostname: "sink-wrong-ca",
      timeoutMs: 5000,
    });
    const item = {
      kind: "checkpoint",
      logId,
      cp: { logId, size: 1, rootHash: new Uint8Array(32), time: 1, signature: new Uint8Array(64) },
      note: "",
      publicKey: new Uint8Array(32),
    } as const;
    await expect(wrong.deliver([{ item, record: { probe: true } }])).rejects.toThrow();
    expect(rsyslog.lines().some((l) => l.includes("sink-wrong-ca"))).toBe(false);
  });

  test("the file sink rotated and kept its files", () => {
    expect(existsSync(join(dataDir, "siem", "events.jsonl.1"))).toBe(true);
  });
});
