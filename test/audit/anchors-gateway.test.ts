// A real gateway publishes its key and every signed checkpoint to a file anchor and to an HTTP witness of
// this test's own (HMAC checked); the operator's CLI verifies the store against them, and every tampering
// case of issue 15 made straight in the store's SQLite file is then caught by `custos audit verify`.
// Also: /healthz warns on a failing anchor and a store near audit.max_size; the gateway's prune job runs.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { anchorSignature, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../../src/audit/anchors/http.ts";
import { parsePublicKeys, parseSignedNotes, trustFromAnchorDir } from "../../src/audit/trust.ts";
import { adminHarness, CONSOLE_ROLES } from "../api/support.ts";
import { cli } from "../approvals/support.ts";
import { freePort } from "../support/free-port.ts";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";

const SECRET = "witness-shared-secret-0123456789";

interface Received {
  body: Record<string, unknown>;
  signed: boolean;
}

let pg: PgServer;
let issuer: OidcIssuer;
let tg: TestGateway;
let dir: string;
let anchorDir: string;
let configFile: string;
const received: Received[] = [];
let failing = false;
let witness: ReturnType<typeof Bun.serve>;

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

const health = async () =>
  (await (await fetch(`http://127.0.0.1:${tg.httpPort}/healthz`)).json()) as {
    status: string;
    warnings?: string[];
  };

beforeAll(async () => {
  [pg, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  dir = mkdtempSync(join(tmpdir(), "custos-anchors-"));
  anchorDir = join(dir, "worm");
  const secretFile = join(dir, "witness-secret");
  writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
  const port = await freePort();
  witness = Bun.serve({
    hostname: "127.0.0.1",
    port,
    async fetch(req) {
      const text = await req.text();
      const ts = Number(req.headers.get(TIMESTAMP_HEADER));
      const signed = req.headers.get(SIGNATURE_HEADER) === anchorSignature(SECRET, ts, text);
      if (failing) return new Response("down", { status: 503 });
      received.push({ body: JSON.parse(text), signed });
      return new Response(null, { status: signed ? 204 : 401 });
    },
  });
  const dataDir = join(dir, "data");
  tg = await startTestGateway({
    pg,
    issuer,
    dataDir,
    config: {
      console: CONSOLE_ROLES,
      audit: {
        anchors: [
          { type: "file", name: "worm", path: anchorDir },
          {
            type: "http",
            name: "witness",
            url: `http://127.0.0.1:${port}/checkpoints`,
            secret_file: secretFile,
          },
        ],
        // Recordings go after 1 s: the prune job (every 2 s) must empty them and verify must stay green.
        retention: { recordings: "1s" },
        prune_interval: "2s",
        max_size: "1KiB",
      },
    },
  });
  configFile = join(dir, "custos.yaml");
  writeFileSync(
    configFile,
    `data_dir: ${JSON.stringify(dataDir)}\naudit:\n  anchors:\n    - {type: file, name: worm, path: ${JSON.stringify(anchorDir)}}\n  retention: {recordings: 1s}\n`,
  );
}, 120_000);

afterAll(async () => {
  await tg?.stop();
  witness?.stop(true);
  await issuer?.stop();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("anchors written by a running gateway", () => {
  test("sessions run; the file anchor and the HTTP witness receive the key and signed checkpoints", async () => {
    const url = tg.url(await tg.token("alice@example.com"));
    for (let i = 0; i < 3; i++) {
      const r = await psql(url, ["-c", `select ${i} as n`]);
      expect(r.code).toBe(0);
    }
    const logId = tg.gw.logId;
    await waitFor("a checkpoint at the witness", () => received.length > 0);
    await waitFor("the file anchor", () => existsSync(join(anchorDir, `${logId}.checkpoints`)));
    const trust = await trustFromAnchorDir(anchorDir);
    expect(trust.logs.get(logId)?.checkpoints.length).toBeGreaterThan(0);
    const pub = readFileSync(join(anchorDir, `${logId}.pub`), "utf8");
    expect(pub).toContain("fingerprint SHA256:");
    const key = parsePublicKeys(pub)[0]!;
    expect(Buffer.from(key).equals(Buffer.from(tg.gw.recorder.publicKey))).toBe(true);
    for (const r of received) {
      expect(r.signed).toBe(true);
      expect(r.body.log_id).toBe(logId);
      expect(r.body.public_key).toBe(pub.split("\n").find((l) => l.startsWith("custos/audit/")));
      const [note] = await parseSignedNotes(String(r.body.note), [key]);
      expect(note?.checkpoint.size).toBe(Number(r.body.size));
    }
    // The fingerprint the operator compares is in the gateway's own log output.
    expect(
      tg.logs.some((l) => l.includes("audit signing key") && l.includes(pub.match(/SHA256:[0-9a-f]+/)![0])),
    ).toBe(true);
  }, 60_000);

  test("/healthz warns while an anchor fails and the store is past 90% of audit.max_size; metrics count it", async () => {
    failing = true;
    const before = received.length;
    const r = await psql(tg.url(await tg.token("alice@example.com")), ["-c", "select 42"]);
    expect(r.code).toBe(0);
    await waitFor(
      "an anchor warning",
      async () => (await health()).warnings?.some((w) => w.includes("witness failing")) ?? false,
    );
    const h = await health();
    expect(h.status).toBe("ok"); // never blocking: sessions keep working
    expect(h.warnings?.some((w) => w.includes("audit.max_size"))).toBe(true);
    const metrics = await (await fetch(`http://127.0.0.1:${tg.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/custos_audit_anchor_failures_total\{anchor="witness"\} [1-9]/);
    expect(metrics).toMatch(/custos_audit_store_bytes \d+/);
    failing = false;
    await waitFor("the witness to catch up", () => received.length > before, 30_000);
    await waitFor(
      "the anchor warning to clear",
      async () => !(await health()).warnings?.some((w) => w.includes("witness")),
      30_000,
    );
  }, 90_000);

  test("an edited sessions row: the CLI warns and shows the logged values; verify names the row", async () => {
    const db = new Database(join(tg.dataDir, "audit.db"));
    try {
      const row = db.query("SELECT id, subject FROM sessions ORDER BY started_at LIMIT 1").get() as {
        id: string;
        subject: string;
      };
      db.query("UPDATE sessions SET subject = 'mallory' WHERE id = ?").run(row.id);
      const list = await cli(["sessions", "list", "--config", configFile]);
      expect(list.stdout).toContain("WARNING");
      expect(list.stdout).toContain(`! ${row.id}: the sessions table differs from the audit log in subject`);
      expect(list.stdout).not.toContain("mallory");
      const show = await cli(["sessions", "show", row.id, "--config", configFile]);
      expect(show.stdout).toContain("WARNING: the sessions table differs");
      expect(show.stdout).toContain(`subject     ${row.subject}`);
      const v = await cli(["audit", "verify", "--config", configFile, "--anchor", "worm"]);
      expect(v.code).toBe(1);
      expect(v.stdout).toContain(`FAIL  sessions ${row.id}: subject`);
      // The admin API and the console show the row as logged, with the warning.
      const admin = await adminHarness(tg);
      try {
        const token = await admin.gatewayToken("ann@example.com", ["auditors"]);
        const api = (await (await admin.call("/api/sessions?limit=500", token)).json()) as {
          items: { id: string; subject: string; integrity: unknown }[];
        };
        const item = api.items.find((i) => i.id === row.id);
        expect(item?.integrity).toEqual({ differs_from_log: ["subject"] });
        expect(item?.subject).toBe(row.subject);
        expect(api.items.filter((i) => i.id !== row.id).every((i) => i.integrity === "ok")).toBe(true);
        const one = (await (await admin.call(`/api/sessions/${row.id}`, token)).json()) as {
          integrity: unknown;
        };
        expect(one.integrity).toEqual({ differs_from_log: ["subject"] });
        const list = await (await admin.call("/console/sessions", token)).text();
        expect(list).toContain("differs from log: subject");
        expect(list).not.toContain("mallory");
        const page = await (await admin.call(`/console/sessions/${row.id}`, token)).text();
        expect(page).toContain("integrity-warning");
        expect(page).toContain("differs from this session&#39;s audit events in subject");
      } finally {
        await admin.close();
      }
      db.query("UPDATE sessions SET subject = ? WHERE id = ?").run(row.subject, row.id);
    } finally {
      db.close();
    }
  }, 60_000);

  test("the gateway's prune job empties recordings past retention; verify against the anchor stays green", async () => {
    await waitFor(
      "recordings pruned",
      async () =>
        /custos_audit_pruned_total\{class="recordings"\} [1-9]/.test(
          await (await fetch(`http://127.0.0.1:${tg.httpPort}/metrics`)).text(),
        ),
      30_000,
    );
    await tg.stop();
    const v = await cli(["audit", "verify", "--config", configFile, "--anchor", "worm"]);
    expect(v.stderr).toBe("");
    expect(v.stdout).toMatch(/^ok {4}gw-/m);
    expect(v.stdout).toMatch(/trusted checkpoint\(s\) matched/);
    expect(v.stdout).toMatch(/pruned by retention/);
    expect(v.code).toBe(0);
  }, 90_000);

  test("export-key, verify with the key and the anchored checkpoints, prove an event", async () => {
    const keyOut = join(dir, "operator.pub");
    const k = await cli(["audit", "export-key", "--config", configFile, "--out", keyOut]);
    expect(k.code).toBe(0);
    expect(k.stderr).toContain("SHA256:");
    const logId = tg.gw.logId;
    const v = await cli([
      "audit",
      "verify",
      "--config",
      configFile,
      "--public-key",
      keyOut,
      "--trusted-checkpoint",
      join(anchorDir, `${logId}.checkpoints`),
    ]);
    expect(v.code).toBe(0);
    const p = await cli(["audit", "prove", "0", "--config", configFile, "--public-key", keyOut]);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain("ok: the proof and the checkpoint's signature verify");
    expect(p.stdout).toContain("gateway.start");
  }, 60_000);

  test("custos audit prune empties event bodies past retention, logs the claim in its maintenance log, and verify stays green", async () => {
    const pruneConfig = join(dir, "prune.yaml");
    writeFileSync(
      pruneConfig,
      readFileSync(configFile, "utf8").replace(
        "retention: {recordings: 1s}",
        "retention: {events: 1s, recordings: 1s}",
      ),
    );
    await Bun.sleep(1_100);
    const r = await cli(["audit", "prune", "--config", pruneConfig]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const n = Number(/: (\d+) event bodies/.exec(r.stdout)?.[1]);
    expect(n).toBeGreaterThan(5);
    const logId = tg.gw.logId;
    expect(existsSync(join(anchorDir, `${logId}.maintenance.checkpoints`))).toBe(true);
    const v = await cli(["audit", "verify", "--config", pruneConfig, "--anchor", "worm"]);
    expect(v.stdout).toContain(`ok    ${logId}.maintenance:`);
    expect(v.stdout).toMatch(new RegExp(`ok {4}${logId}: .*${n} event bodies`));
    expect(v.code).toBe(0);
    // Pruned sessions are not called lies: their rows can no longer be checked.
    expect(v.stdout).toMatch(/sessions \(0 differ from the log, \d+ pruned\)/);
  }, 60_000);

  test("cutting the tail with its checkpoints, then deleting everything: verify fails with the anchor and with the data_dir head", async () => {
    const db = new Database(join(tg.dataDir, "audit.db"));
    const logId = tg.gw.logId;
    try {
      const top = (
        db.query("SELECT max(size) AS n FROM checkpoints WHERE log_id = ?").get(logId) as { n: number }
      ).n;
      const keep = Math.max(1, top - 3);
      db.query("DELETE FROM audit_events WHERE log_id = ? AND seq >= ?").run(logId, keep);
      db.query("DELETE FROM recordings WHERE log_id = ? AND event_seq >= ?").run(logId, keep);
      db.query("DELETE FROM checkpoints WHERE log_id = ? AND size > ?").run(logId, keep);
      for (const flags of [["--anchor", "worm"], []]) {
        const v = await cli(["audit", "verify", "--config", configFile, ...flags]);
        expect({ flags, code: v.code }).toEqual({ flags, code: 1 });
        expect(v.stdout).toContain("cut from the tail");
      }
      for (const t of [
        "audit_events",
        "checkpoints",
        "recordings",
        "sessions",
        "audit_logs",
        "approval_requests",
        "approval_decisions",
      ]) {
        db.exec(`DELETE FROM ${t}`);
      }
      for (const flags of [["--anchor", "worm"], []]) {
        const v = await cli(["audit", "verify", "--config", configFile, ...flags]);
        expect({ flags, code: v.code }).toEqual({ flags, code: 1 });
        expect(v.stdout).toContain("the log was deleted");
        expect(v.stdout).not.toContain("no audit logs in the store\n");
      }
    } finally {
      db.close();
    }
  }, 60_000);
});
