// Evidence export end to end: a real gateway in front of a real PostgreSQL, agent sessions with allowed,
// denied and masked statements, `custos evidence export` through the CLI, then both verifiers (the CLI's
// TypeScript one and the bundle's own Python one) on the intact bundle and on each tampered copy.

import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decoder, Encoder } from "@msgpack/msgpack";
import { decodeEvent, hex, sha256 } from "../../src/audit/codec.ts";
import { readTarGz } from "../../src/audit/evidence/tar.ts";
import { leafHash } from "../../src/audit/merkle.ts";
import { openStore } from "../../src/audit/store.ts";
import { loadConfig } from "../../src/config/load.ts";
import { fixtureSecrets } from "../../src/demo/fixture.ts";
import { storeUrl } from "../../src/gateway.ts";
import { type MaskingWorld, startMaskingWorld } from "../masking/gateway-support.ts";
import { psql } from "../support/gateway.ts";
import { named, tamper, type VerifierResult, verifyPy, verifyTs } from "./support.ts";

const ROOT = join(import.meta.dir, "..", "..");
let world: MaskingWorld;
let dir: string;
let configFile: string;
let bundlePath: string;
let bundle: Uint8Array;
let files: Map<string, Uint8Array>;
let verifier: Uint8Array;
let keyFile: string;
let logId: string;
const start = Date.now();

async function cli(args: string[]) {
  const proc = Bun.spawn([join(ROOT, "custos"), ...args], { stdout: "pipe", stderr: "pipe", cwd: ROOT });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code };
}

beforeAll(async () => {
  world = await startMaskingWorld();
  const agent = await world.agentUrl("agent-ledger@bank.example", "evidence-agent");
  const other = await world.agentUrl("agent-other@bank.example", "evidence-other");
  // Allowed, masked and denied statements, in two agents' sessions.
  const ok = await psql(agent, ["-tA", "-c", "select id, full_name from customers order by id limit 3"]);
  expect(ok.code).toBe(0);
  const masked = await psql(agent, ["-tA", "-c", "select id, ssn from customers order by id limit 3"]);
  expect(masked.code).toBe(0);
  // The recorder signs a checkpoint each second: pauses give the range several, with consistency proofs.
  await Bun.sleep(1200);
  const denied = await psql(agent, ["-tA", "-c", "delete from customers"]);
  expect(denied.code).not.toBe(0);
  await Bun.sleep(1200);
  expect((await psql(other, ["-tA", "-c", "select count(*) from customers"])).code).toBe(0);
  // Stopping flushes the recorder and writes the final checkpoint over every event.
  logId = world.gw.gw.logId;
  await world.gw.gw.stop();
  dir = mkdtempSync(join(tmpdir(), "custos-evidence-"));
  configFile = join(dir, "custos.yaml");
  writeFileSync(
    configFile,
    JSON.stringify({
      data_dir: world.gw.dataDir,
      connections: [
        {
          name: "ledger",
          type: "postgres",
          target: {
            host: world.pg.host,
            port: world.pg.port,
            database: "ledger",
            user: world.pg.roles.scram.user,
            password_env: "LEDGER_DB_PASSWORD",
          },
          allow_groups: ["agents", "dba"],
        },
      ],
    }),
  );
  bundlePath = join(dir, "bundle.tar.gz");
  const r = await cli([
    "evidence",
    "export",
    "--config",
    configFile,
    "--from",
    new Date(start - 1000).toISOString(),
    "--to",
    "now",
    "--out",
    bundlePath,
  ]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  bundle = new Uint8Array(readFileSync(bundlePath));
  files = readTarGz(bundle);
  verifier = files.get("verify.py")!;
  const pub = JSON.parse(new TextDecoder().decode(files.get(`logs/${logId}/public-key.json`)!));
  keyFile = join(dir, "operator-key.pem");
  writeFileSync(keyFile, pub.pem);
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

const text = (p: string) => new TextDecoder().decode(files.get(p)!);
const lines = (p: string) =>
  text(p)
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

describe("chain of custody", () => {
  test("the export itself is an evidence.exported event in the CLI's signed log, with the bundle's hash", async () => {
    const config = loadConfig(configFile, {
      ...process.env,
      LEDGER_DB_PASSWORD: world.pg.roles.scram.password,
    });
    const store = await openStore(storeUrl(config));
    try {
      const cliLog = (await store.logs()).find((l) => l.logId.endsWith(".cli"));
      expect(cliLog).toBeDefined();
      const rows = await store.readEvents(cliLog!.logId, 0, 1000);
      const exported = rows.map((r) => decodeEvent(r.body)).filter((e) => e.type === "evidence.exported");
      expect(exported.length).toBeGreaterThan(0);
      expect(exported.at(-1)!.data.bundle_sha256).toBe(hex(sha256(bundle)));
    } finally {
      await store.close();
    }
  });
});

describe("the bundle", () => {
  test("holds the events as logged, their leaves, recordings, checkpoints and a readable offline report", () => {
    const events = lines(`logs/${logId}/events.jsonl`);
    const types = new Set(events.map((e) => e.event.type));
    for (const t of [
      "gateway.start",
      "auth.success",
      "session.start",
      "statement",
      "masking",
      "recording.batch",
      "session.end",
    ]) {
      expect(types).toContain(t);
    }
    for (const e of events) {
      const body = Buffer.from(e.body_b64, "base64");
      expect(e.leaf_hash).toBe(hex(leafHash(body)));
    }
    const actions = events.filter((e) => e.event.type === "statement").map((e) => e.event.data.action);
    expect(actions).toContain("allow");
    expect(actions).toContain("deny");
    const index = JSON.parse(text("recordings/index.json"));
    expect(index.length).toBeGreaterThan(0);
    expect(JSON.parse(text(`logs/${logId}/checkpoints.json`)).length).toBeGreaterThan(2);
    expect(JSON.parse(text(`logs/${logId}/consistency-proofs.json`)).length).toBeGreaterThan(1);
    // The verifier shipped is the project's, byte for byte.
    expect(Buffer.from(verifier).equals(readFileSync(join(ROOT, "src/audit/evidence/verifier.py")))).toBe(
      true,
    );
    const html = text("report/index.html");
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|\shref=|url\(|@import/i);
    const controls = JSON.parse(text("report/controls.json"));
    expect(controls.map((c: { id: string }) => c.id)).toEqual(
      Array.from({ length: 17 }, (_, i) => `F${i + 1}`),
    );
    expect(controls.find((c: { id: string }) => c.id === "F5").status).toBe("not evidenced");
    expect(controls.find((c: { id: string }) => c.id === "F11").status).toBe("evidenced");
    const summary = JSON.parse(text("report/summary.json"));
    expect(summary.denials.length).toBeGreaterThan(0);
    expect(summary.masking.length).toBeGreaterThan(0);
    expect([...new Set(summary.sessions.map((s: { subject: string }) => s.subject))].sort()).toEqual([
      "agent-ledger@bank.example",
      "agent-other@bank.example",
    ]);
    const csv = text("report/access.csv");
    expect(csv).toContain('"deny"');
    expect(csv).toMatch(/"select id, ssn from customers order by id limit 3".*"yes"/);
    expect(csv).toMatch(/"select id, full_name from customers order by id limit 3".*"no"/);
  });

  test("carries no secret: no target password, no token, and no unmasked fixture value outside the (masked) recordings", () => {
    const all = [...files]
      .filter(([p]) => !p.startsWith("recordings/"))
      .map(([, d]) => Buffer.from(d).toString("latin1"))
      .join("\n");
    expect(all).not.toContain(world.pg.roles.scram.password);
    expect(fixtureSecrets().filter((s) => all.includes(s))).toEqual([]);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/); // a JWT
    const recs = [...files]
      .filter(([p]) => p.startsWith("recordings/"))
      .map(([, d]) => Buffer.from(d).toString("latin1"))
      .join("\n");
    expect(fixtureSecrets().filter((s) => recs.includes(s))).toEqual([]);
  });

  test("both verifiers pass it, pinned to the operator's key, and agree on what they checked", async () => {
    const [ts, py] = await Promise.all([
      verifyTs(bundlePath, keyFile),
      verifyPy(verifier, bundlePath, keyFile),
    ]);
    expect(ts.failures).toEqual([]);
    expect(py.failures).toEqual([]);
    expect([ts.code, py.code]).toEqual([0, 0]);
    expect(ts.counts).toEqual(py.counts);
    expect(ts.counts.events).toBe(lines(`logs/${logId}/events.jsonl`).length);
    expect(ts.counts.recordings).toBeGreaterThan(0);
    expect(ts.counts.consistency_proofs).toBeGreaterThan(1);
  });

  test("a key other than the operator's fails both", async () => {
    const other = join(dir, "other-key.hex");
    writeFileSync(other, "11".repeat(32));
    const [ts, py] = await Promise.all([verifyTs(bundlePath, other), verifyPy(verifier, bundlePath, other)]);
    expect(named(ts)).toContain("key.untrusted MANIFEST.json");
    expect(named(ts)).toEqual(named(py));
  });

  test("a subject filter keeps that subject's sessions and the policy events, and verifies", async () => {
    const out = join(dir, "subject.tar.gz");
    const r = await cli([
      "evidence",
      "export",
      "--config",
      configFile,
      "--from",
      new Date(start - 1000).toISOString(),
      "--subject",
      "agent-other@bank.example",
      "--out",
      out,
    ]);
    expect(r.code).toBe(0);
    const f = readTarGz(new Uint8Array(readFileSync(out)));
    const events = new TextDecoder()
      .decode(f.get(`logs/${logId}/events.jsonl`)!)
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const subjects = new Set(
      events.filter((e) => e.event.type === "session.start").map((e) => e.event.data.subject),
    );
    expect([...subjects]).toEqual(["agent-other@bank.example"]);
    expect(events.some((e) => e.event.type === "gateway.start")).toBe(true);
    const [ts, py] = await Promise.all([verifyTs(out, keyFile), verifyPy(verifier, out, keyFile)]);
    expect([ts.ok, py.ok]).toEqual([true, true]);
  });
});

describe("a range pruned by retention", () => {
  let prunedPath: string;
  test("pruned bodies and recordings are marked, their leaves still proven, and both verifiers pass", async () => {
    // Retention as the store will do it: bodies and payloads emptied, leaf hashes and rows kept.
    const copy = mkdtempSync(join(tmpdir(), "custos-evidence-pruned-"));
    cpSync(world.gw.dataDir, copy, { recursive: true });
    const db = new Database(join(copy, "audit.db"));
    db.exec(
      "UPDATE audit_events SET body = x'' WHERE type = 'statement' AND seq IN (SELECT seq FROM audit_events WHERE type = 'statement' ORDER BY seq LIMIT 2)",
    );
    db.exec(
      "UPDATE recordings SET data = x'' WHERE rowid IN (SELECT rowid FROM recordings ORDER BY event_seq LIMIT 2)",
    );
    db.close();
    const cfg = join(copy, "custos.yaml");
    writeFileSync(
      cfg,
      readFileSync(configFile, "utf8").replace(JSON.stringify(world.gw.dataDir).slice(1, -1), copy),
    );
    prunedPath = join(copy, "pruned.tar.gz");
    const r = await cli([
      "evidence",
      "export",
      "--config",
      cfg,
      "--from",
      new Date(start - 1000).toISOString(),
      "--out",
      prunedPath,
    ]);
    expect(r.code).toBe(0);
    const [ts, py] = await Promise.all([
      verifyTs(prunedPath, keyFile),
      verifyPy(verifier, prunedPath, keyFile),
    ]);
    expect([ts.failures, py.failures]).toEqual([[], []]);
    expect(ts.counts).toEqual(py.counts);
    expect(ts.counts.pruned_events).toBe(2);
    expect(ts.counts.pruned_recordings).toBe(2);
    const f = readTarGz(new Uint8Array(readFileSync(prunedPath)));
    const controls = JSON.parse(new TextDecoder().decode(f.get("report/controls.json")!));
    expect(controls.find((c: { id: string }) => c.id === "F12")).toMatchObject({ status: "partial" });
  });

  test("an event passed off as pruned (to hide what it says) fails both", async () => {
    const original = new Uint8Array(readFileSync(bundlePath));
    const path = tamper(
      original,
      (f) =>
        editLines(f, eventsPath(), (rows) => {
          const i = rows.findIndex((r) => (r.event as { data: { action?: string } }).data.action === "deny");
          rows[i] = { leaf_hash: rows[i]!.leaf_hash, pruned: true, seq: rows[i]!.seq, type: "statement" };
          return rows;
        }),
      "fake-prune",
    );
    await bothFail(path, "event.pruned");
  });
});

// Each tamper case: both verifiers fail, name the same failures, and name the expected one.
async function bothFail(path: string, expected: string): Promise<[VerifierResult, VerifierResult]> {
  const [ts, py] = await Promise.all([verifyTs(path, keyFile), verifyPy(verifier, path, keyFile)]);
  expect(ts.code).toBe(1);
  expect(py.code).toBe(1);
  expect(named(ts)).toEqual(named(py));
  expect(named(ts).some((n) => n.startsWith(expected))).toBe(true);
  return [ts, py];
}

const enc = new TextEncoder();
const eventsPath = () => `logs/${logId}/events.jsonl`;
function editLines(
  f: Map<string, Uint8Array>,
  path: string,
  edit: (rows: Record<string, unknown>[]) => Record<string, unknown>[],
) {
  const rows = new TextDecoder()
    .decode(f.get(path)!)
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  f.set(
    path,
    enc.encode(
      edit(rows)
        .map((r) => `${JSON.stringify(r)}\n`)
        .join(""),
    ),
  );
}
const statementIndex = (rows: Record<string, unknown>[]) =>
  rows.findIndex((r) => (r.event as { type: string }).type === "statement");

describe("tampering", () => {
  test("a changed byte in an event's logged body", async () => {
    const path = tamper(
      bundle,
      (f) =>
        editLines(f, eventsPath(), (rows) => {
          const i = statementIndex(rows);
          const body = Buffer.from(rows[i]!.body_b64 as string, "base64");
          const at = body.indexOf(Buffer.from("customers"));
          body[at] = "C".charCodeAt(0);
          rows[i]!.body_b64 = body.toString("base64");
          return rows;
        }),
      "byte",
    );
    await bothFail(path, "event.leaf");
  });

  test("a rewritten event with its leaf recomputed (and the manifest's file hash updated)", async () => {
    const path = tamper(
      bundle,
      (f) => {
        editLines(f, eventsPath(), (rows) => {
          const i = rows.findIndex((r) => (r.event as { data: { action?: string } }).data.action === "deny");
          const ev = new Decoder().decode(Buffer.from(rows[i]!.body_b64 as string, "base64")) as {
            data: Record<string, unknown>;
          };
          ev.data.action = "allow";
          const body = new Encoder({ sortKeys: true, ignoreUndefined: true }).encode(ev);
          rows[i]!.body_b64 = Buffer.from(body).toString("base64");
          rows[i]!.leaf_hash = hex(leafHash(body));
          (rows[i]!.event as { data: Record<string, unknown> }).data.action = "allow";
          return rows;
        });
        const m = JSON.parse(new TextDecoder().decode(f.get("MANIFEST.json")!));
        m.files[eventsPath()] = hex(sha256(f.get(eventsPath())!));
        f.set("MANIFEST.json", enc.encode(`${JSON.stringify(m, null, 2)}\n`));
      },
      "rewrite",
    );
    const [ts] = await bothFail(path, "inclusion.proof");
    expect(named(ts)).toContain("manifest.signature MANIFEST.json");
  });

  test("the decoded JSON edited (subject to mallory) while the body stays", async () => {
    const path = tamper(
      bundle,
      (f) =>
        editLines(f, eventsPath(), (rows) => {
          const r = rows.find((x) => (x.event as { type: string }).type === "session.start")!;
          (r.event as { data: Record<string, unknown> }).data.subject = "mallory";
          return rows;
        }),
      "json",
    );
    await bothFail(path, "event.json");
  });

  test("a removed event", async () => {
    const path = tamper(
      bundle,
      (f) => editLines(f, eventsPath(), (rows) => rows.filter((_, i) => i !== statementIndex(rows))),
      "removed",
    );
    await bothFail(path, "event.missing");
  });

  test("two recordings swapped", async () => {
    const path = tamper(
      bundle,
      (f) => {
        const recs = [...f.keys()].filter((p) => p.startsWith("recordings/") && p.endsWith(".msgpack"));
        expect(recs.length).toBeGreaterThan(1);
        const a = f.get(recs[0]!)!;
        f.set(recs[0]!, f.get(recs[1]!)!);
        f.set(recs[1]!, a);
      },
      "swapped",
    );
    await bothFail(path, "recording.hash");
  });

  test("an altered checkpoint (its root replaced)", async () => {
    const path = tamper(
      bundle,
      (f) => {
        const p = `logs/${logId}/checkpoints.json`;
        const cps = JSON.parse(new TextDecoder().decode(f.get(p)!));
        const last = cps.at(-1);
        const lines = last.note.split("\n");
        lines[2] = Buffer.alloc(32, 7).toString("base64");
        last.note = lines.join("\n");
        f.set(p, enc.encode(JSON.stringify(cps)));
      },
      "checkpoint",
    );
    await bothFail(path, "checkpoint.signature");
  });

  test("an altered inclusion proof", async () => {
    const path = tamper(
      bundle,
      (f) =>
        editLines(f, `logs/${logId}/inclusion-proofs.jsonl`, (rows) => {
          const r = rows.find((x) => (x.proof as string[]).length > 0)!;
          const proof = r.proof as string[];
          proof[0] = `${proof[0]!.slice(0, -1)}${proof[0]!.endsWith("0") ? "1" : "0"}`;
          return rows;
        }),
      "proof",
    );
    await bothFail(path, "inclusion.proof");
  });

  test("an altered consistency proof", async () => {
    const path = tamper(
      bundle,
      (f) => {
        const p = `logs/${logId}/consistency-proofs.json`;
        const proofs = JSON.parse(new TextDecoder().decode(f.get(p)!));
        const c = proofs.find((x: { proof: string[] }) => x.proof.length > 0);
        c.proof[c.proof.length - 1] = "00".repeat(32);
        f.set(p, enc.encode(JSON.stringify(proofs)));
      },
      "consistency",
    );
    await bothFail(path, "consistency.proof");
  });

  test("a checkpoint dropped from the bundle", async () => {
    const path = tamper(
      bundle,
      (f) => {
        const p = `logs/${logId}/checkpoints.json`;
        const cps = JSON.parse(new TextDecoder().decode(f.get(p)!));
        f.set(p, enc.encode(JSON.stringify(cps.slice(0, -1))));
      },
      "dropped-checkpoint",
    );
    await bothFail(path, "checkpoint.missing");
  });
});
