// `audit verify` against a store rewritten column by column, the way someone with write access to the SQLite
// file can: every column of every audit table (events, checkpoints, recordings, logs) and of the sessions
// projection, cut short, appended to, changed to another type, set to NULL (after dropping NOT NULL), in a
// worker's log (`<instance>.w1`) beside an untouched one (`.w2`). Each variant must report FAIL naming the log
// and where (never a crash such as msgpack's "Extra bytes"); `custos audit verify` exits 1 and prints it.
// Beside them, rewrites that change nothing must verify.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { anchoredCheckpoint, anchorPublicKey } from "../../src/audit/anchor.ts";
import { localHeadAnchor } from "../../src/audit/anchors/local-head.ts";
import { importSigner } from "../../src/audit/checkpoint.ts";
import { LogWriter } from "../../src/audit/log-writer.ts";
import { openStore } from "../../src/audit/store.ts";
import { type VerifyReport, verifyLog } from "../../src/audit/verify.ts";
import { ownExpectations } from "../../src/cli/audit-trust.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Frame } from "../../src/core/frame.ts";
import { loadOrCreateGatewayKey } from "../../src/identity/gateway-key.ts";
import { PROJECT_ROOT } from "../../src/policy/opa.ts";
import { ev } from "./fixtures.ts";

const OWN = "gw-tamper-0001";
const W1 = `${OWN}.w1`;
const W2 = `${OWN}.w2`;
let root: string;
let pristine: string;
/** Seqs of W1's interesting events, and its checkpoint sizes. */
const at = { start: -1, statement: -1, recording: -1, last: -1, checkpoints: [] as number[] };

const frames = (n: number): Frame[] =>
  Array.from({ length: n }, (_, i) => ({
    t: 1_700_000_000_000_000 + i,
    dir: i % 2 ? "server" : "client",
    kind: "Query",
    data: { text: `select ${i}` },
  }));

/** A data_dir as a gateway with two workers leaves it: instance id, gateway key, both logs and their heads. */
async function writeDataDir(dir: string): Promise<void> {
  writeFileSync(join(dir, "instance-id"), `${OWN}\n`);
  const key = await loadOrCreateGatewayKey(dir);
  const signer = await importSigner({ privateKeyPkcs8: key.pkcs8, publicKeyRaw: key.publicRaw });
  const store = await openStore(`sqlite:${join(dir, "audit.db")}`);
  const head = localHeadAnchor(dir);
  for (const logId of [W1, W2]) {
    const writer = await LogWriter.open(store, logId, signer);
    const a = `${logId}-a`;
    const b = `${logId}-b`;
    const t0 = 1_700_000_000_000;
    const batches: [Parameters<typeof ev>[], Map<string, Frame[]>, boolean][] = [
      [
        [
          ["session.start", a, { subject: "w-agent", connection: "ledger", protocol: "postgres" }, t0],
          ["statement", a, { text: "select 1" }, t0 + 1],
          ["statement", a, { text: "select 2" }, t0 + 2],
        ],
        new Map([[a, frames(3)]]),
        true,
      ],
      [
        [
          ["statement", a, { text: "select 3" }, t0 + 3],
          ["session.end", a, { reason: "client" }, t0 + 4],
          ["session.start", b, { subject: "w-human", connection: "ledger", protocol: "postgres" }, t0 + 5],
        ],
        new Map([[b, frames(2)]]),
        true,
      ],
      [[["statement", b, { text: "select 4" }, t0 + 6]], new Map(), false],
    ];
    let n = 0;
    for (const [events, f, checkpoint] of batches) {
      const p = await writer.prepare(
        events.map((e) => ev(...e)),
        f,
        checkpoint,
        t0 + 10 + n++,
      );
      await store.commit(p.batch);
      writer.accept(p);
      const cp = p.batch.checkpoint;
      if (cp)
        await head.publish(anchoredCheckpoint(cp, key.publicRaw), anchorPublicKey(key.publicRaw, logId));
      if (logId === W1) {
        for (const e of p.batch.events) {
          if (e.type === "session.start" && at.start < 0) at.start = e.seq;
          if (e.type === "statement" && at.statement < 0) at.statement = e.seq;
          if (e.type === "recording.batch" && at.recording < 0) at.recording = e.seq;
          at.last = e.seq;
        }
        if (cp) at.checkpoints.push(cp.size);
      }
    }
  }
  await store.close();
}

function configFor(dir: string): string {
  const file = join(dir, "custos.yaml");
  writeFileSync(
    file,
    JSON.stringify({
      data_dir: dir,
      identity: { agent_groups: ["agents"] },
      connections: [
        {
          name: "ledger",
          type: "postgres",
          target: { host: "127.0.0.1", port: 5432, database: "ledger", user: "u" },
          allow_groups: ["agents"],
        },
      ],
    }),
  );
  return file;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "custos-tamper-"));
  pristine = join(root, "pristine");
  mkdirSync(pristine);
  await writeDataDir(pristine);
  configFor(pristine);
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

let copies = 0;
/** A copy of the pristine data_dir with `sql` run against its store (after NOT NULL is dropped, if asked). */
function tampered(sql: string, dropNotNull?: string): string {
  const dir = join(root, `v${copies++}`);
  cpSync(pristine, dir, { recursive: true });
  configFor(dir);
  const file = join(dir, "audit.db");
  if (dropNotNull) {
    // The table rebuilt without its constraints (as someone with the file can): CREATE TABLE … AS SELECT
    // keeps the columns, their affinity and the rows, and drops NOT NULL.
    const db = new Database(file);
    db.exec(
      `CREATE TABLE rebuilt AS SELECT * FROM ${dropNotNull}; DROP TABLE ${dropNotNull}; ALTER TABLE rebuilt RENAME TO ${dropNotNull}`,
    );
    db.close();
  }
  const db = new Database(file);
  db.exec(sql);
  db.close();
  return dir;
}

async function verifyDir(dir: string): Promise<VerifyReport> {
  const config = loadConfig(join(dir, "custos.yaml"), process.env, { secrets: false });
  const store = await openStore(`sqlite:${join(dir, "audit.db")}`);
  try {
    return await verifyLog(store, { expect: await ownExpectations(config) });
  } finally {
    await store.close();
  }
}

interface Variant {
  name: string;
  sql: () => string;
  notNull?: string;
  /** Where the failure must be named: an event seq, a checkpoint size, or only the log. */
  where: () => { seq: number } | { size: number } | "log" | "view";
}

const W = `log_id = '${W1}'`;

function corpus(): Variant[] {
  const out: Variant[] = [];
  const blobs = [
    "substr(COL, 1, length(COL) - 1)",
    "CAST(COL || x'00' AS BLOB)",
    "COL || 'x'",
    "CAST(COL AS TEXT)",
    "42",
    "4.5",
    "x''",
    "NULL",
  ];
  const add = (table: string, col: string, sets: string[], row: () => string, where: Variant["where"]) => {
    for (const set of sets) {
      const expr = set.replaceAll("COL", col);
      out.push({
        name: `${table}.${col} = ${expr}`,
        sql: () => `UPDATE ${table} SET ${col} = ${expr} WHERE ${row()}`,
        ...(set === "NULL" ? { notNull: table } : {}),
        where,
      });
    }
  };
  const seqRow = (s: () => number) => () => `${W} AND seq = ${s()}`;
  const evAt = (s: () => number) => () => ({ seq: s() });
  for (const target of [() => at.start, () => at.statement, () => at.recording, () => at.last]) {
    add("audit_events", "body", blobs, seqRow(target), evAt(target));
    add("audit_events", "leaf_hash", blobs, seqRow(target), evAt(target));
  }
  add(
    "audit_events",
    "seq",
    ["'x'", "x'05'", "COL + 0.5", "COL + 1000", "NULL"],
    seqRow(() => at.statement),
    evAt(() => at.statement),
  );
  add(
    "audit_events",
    "time",
    ["'x'", "x'05'", "COL + 0.5", "COL + 1", "NULL"],
    seqRow(() => at.statement),
    evAt(() => at.statement),
  );
  add(
    "audit_events",
    "type",
    ["CAST(COL AS BLOB)", "7", "'statement'", "COL || 'x'", "NULL"],
    seqRow(() => at.start),
    evAt(() => at.start),
  );
  add(
    "audit_events",
    "session_id",
    ["CAST(COL AS BLOB)", "7", "'other'", "NULL"],
    seqRow(() => at.statement),
    evAt(() => at.statement),
  );
  add(
    "audit_events",
    "log_id",
    ["CAST(COL AS BLOB)", "'other'", "NULL"],
    seqRow(() => at.statement),
    evAt(() => at.statement),
  );
  add(
    "audit_events",
    "pruned_at",
    ["1", "'x'", "x'01'", "0.5"],
    seqRow(() => at.statement),
    evAt(() => at.statement),
  );
  const cpRow = () => `${W} AND size = ${at.checkpoints[0]}`;
  const cpAt = () => ({ size: at.checkpoints[0]! });
  for (const col of ["root_hash", "signature"]) add("checkpoints", col, blobs, cpRow, cpAt);
  add("checkpoints", "time", ["'x'", "x'05'", "COL + 0.5", "COL + 1", "NULL"], cpRow, cpAt);
  add("checkpoints", "size", ["'x'", "x'05'", "COL + 0.5", "NULL"], cpRow, () => "log");
  const recRow = () => `${W} AND event_seq = ${at.recording}`;
  const recAt = () => ({ seq: at.recording });
  for (const col of ["data", "sha256"]) add("recordings", col, blobs, recRow, recAt);
  add("recordings", "batch", ["'x'", "x'05'", "COL + 1", "NULL"], recRow, () => "log");
  add("recordings", "event_seq", ["'x'", "x'05'", "COL + 0.5", "NULL"], recRow, () => "log");
  add("recordings", "frame_count", ["'x'", "x'05'", "COL + 1", "NULL"], recRow, recAt);
  add("recordings", "first_time", ["'x'", "x'05'", "COL + 0.5", "NULL"], recRow, recAt);
  add("recordings", "session_id", ["CAST(COL AS BLOB)", "'other'", "NULL"], recRow, () => "log");
  add("recordings", "log_id", ["CAST(COL AS BLOB)", "NULL"], recRow, () => "log");
  add("recordings", "pruned_at", ["1", "'x'", "x'01'"], recRow, () => "log");
  const logRow = () => W;
  add("audit_logs", "public_key", blobs, logRow, () => "log");
  add("audit_logs", "created_at", ["'x'", "x'05'", "COL + 0.5", "NULL"], logRow, () => "log");
  add("audit_logs", "log_id", ["CAST(COL AS BLOB)", "'other'", "NULL"], logRow, () => "log");
  const sessRow = () => `id = '${W1}-a'`;
  add("sessions", "statements", ["'x'", "x'05'", "COL + 1", "NULL"], sessRow, () => "view");
  add("sessions", "ended_at", ["'x'", "NULL", "COL + 1"], sessRow, () => "view");
  add("sessions", "subject", ["CAST(COL AS BLOB)", "7", "'someone'", "NULL"], sessRow, () => "view");
  return out;
}

describe("audit verify over a tampered store", () => {
  test("the pristine data_dir verifies, and rewrites that change nothing verify too", async () => {
    expect(at.checkpoints.length).toBe(2);
    expect((await verifyDir(pristine)).ok).toBe(true);
    for (const sql of [
      `UPDATE audit_events SET body = CAST(body AS BLOB), leaf_hash = leaf_hash WHERE ${W}`,
      `UPDATE recordings SET data = CAST(data AS BLOB), frame_count = frame_count + 0 WHERE ${W}`,
      `UPDATE checkpoints SET time = time + 0, signature = CAST(signature AS BLOB) WHERE ${W}`,
      `UPDATE audit_logs SET public_key = CAST(public_key AS BLOB) WHERE ${W}`,
      `UPDATE sessions SET subject = subject WHERE log_id = '${W1}'`,
    ]) {
      const r = await verifyDir(tampered(sql));
      expect({ sql, ok: r.ok, logs: r.logs.map((l) => l.firstFailure) }).toEqual({
        sql,
        ok: true,
        logs: [undefined, undefined],
      });
    }
  });

  test("every column of every table, cut, appended, retyped or NULL: FAIL naming the log and where", async () => {
    const results: string[] = [];
    for (const v of corpus()) {
      const dir = tampered(v.sql(), v.notNull);
      let report: VerifyReport | undefined;
      let crash: unknown;
      try {
        report = await verifyDir(dir);
      } catch (err) {
        crash = err;
      }
      rmSync(dir, { recursive: true, force: true });
      const w1 = report?.logs.find((l) => l.logId === W1);
      const w2 = report?.logs.find((l) => l.logId === W2);
      const where = v.where();
      const failure = w1?.firstFailure;
      const named =
        where === "view"
          ? report?.projections?.ok === false && w1?.ok === true
          : where === "log"
            ? w1?.ok === false && failure !== undefined
            : "seq" in where
              ? w1?.ok === false && failure?.seq === where.seq
              : w1?.ok === false && failure?.size === where.size;
      if (crash || report?.ok !== false || !named || w2?.ok !== true)
        results.push(
          `${v.name}: ${crash ? `CRASH ${String(crash)}` : JSON.stringify({ ok: report?.ok, w1: failure ?? w1?.ok, w2: w2?.ok, want: where })}`,
        );
    }
    expect(results).toEqual([]);
  }, 120_000);
});

describe("custos audit verify (the CLI) over a tampered worker log", () => {
  const cli = (dir: string) =>
    Bun.spawnSync(
      [
        process.execPath,
        join(PROJECT_ROOT, "src/cli/main.ts"),
        "audit",
        "verify",
        "--config",
        join(dir, "custos.yaml"),
      ],
      { stdout: "pipe", stderr: "pipe" },
    );

  test("untouched: exit 0, both worker logs ok", () => {
    const r = cli(pristine);
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString()).toContain(`ok    ${W1}:`);
    expect(r.stdout.toString()).toContain(`ok    ${W2}:`);
    expect(r.exitCode).toBe(0);
  });

  for (const [name, sql, where] of [
    [
      "a byte appended to a session.start body",
      () => `UPDATE audit_events SET body = CAST(body || x'00' AS BLOB) WHERE ${W} AND seq = ${at.start}`,
      () => `event ${at.start}:`,
    ],
    [
      "a statement body cut short",
      () => `UPDATE audit_events SET body = substr(body, 1, 9) WHERE ${W} AND seq = ${at.statement}`,
      () => `event ${at.statement}:`,
    ],
    [
      "a body retyped to an integer",
      () => `UPDATE audit_events SET body = 42 WHERE ${W} AND seq = ${at.statement}`,
      () => `event ${at.statement}: seq ${at.statement}: column body holds the integer 42, not bytes`,
    ],
    [
      "a recording's data retyped to text",
      () => `UPDATE recordings SET data = 'frames' WHERE ${W}`,
      () => `event ${at.recording}:`,
    ],
    [
      "a checkpoint's root hash cut short",
      () =>
        `UPDATE checkpoints SET root_hash = substr(root_hash, 1, 31) WHERE ${W} AND size = ${at.checkpoints[0]}`,
      () => `checkpoint at size ${at.checkpoints[0]}:`,
    ],
  ] as const) {
    test(`${name}: exit 1, FAIL names ${W1} and where, ${W2} still ok`, () => {
      const dir = tampered(sql());
      const r = cli(dir);
      rmSync(dir, { recursive: true, force: true });
      const out = r.stdout.toString();
      expect(r.stderr.toString()).toBe("");
      expect(out).toContain(`FAIL  ${W1}: ${where()}`);
      expect(out).toContain(`ok    ${W2}:`);
      expect(r.exitCode).toBe(1);
    });
  }
});
