// The shared PostgreSQL audit store: two gateways, each streaming its own log to its own file sink from
// its cursor in siem_cursors, resuming after a restart; then one evidence bundle over both logs (signed by
// one gateway's key, each log proven against its own checkpoints) that both verifiers accept.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importSigner } from "../../src/audit/checkpoint.ts";
import { exportEvidence } from "../../src/audit/evidence/export.ts";
import { readTarGz } from "../../src/audit/evidence/tar.ts";
import { verifyBundle } from "../../src/audit/evidence/verify-bundle.ts";
import { openStore } from "../../src/audit/store.ts";
import { loadOrCreateGatewayKey } from "../../src/identity/gateway-key.ts";
import { verifyPy } from "../evidence/support.ts";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";

let db: PgServer;
let issuer: OidcIssuer;
let storeUrl: string;
const dirs = [
  mkdtempSync(join(tmpdir(), "custos-siem-pg-a-")),
  mkdtempSync(join(tmpdir(), "custos-siem-pg-b-")),
];
const sinkFile = (i: number) => join(dirs[i]!, "siem.jsonl");
const start = (i: number) =>
  startTestGateway({
    pg: db,
    issuer,
    storeUrl,
    dataDir: dirs[i]!,
    config: { siem: [{ type: "file", name: `file-${i}`, path: sinkFile(i), format: "native" }] },
  });
let gws: TestGateway[] = [];

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  db.sql("CREATE DATABASE audit");
  storeUrl = db.url(db.roles.scram, "audit");
  gws = [await start(0), await start(1)];
}, 60_000);

afterAll(async () => {
  for (const g of gws) await g.gw.stop().catch(() => {});
  await issuer?.stop();
  await db?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function run(g: TestGateway, subject: string) {
  const token = await g.token(subject, ["agents"]);
  await psql(g.url(token), ["-tA", "-c", "select 1"]);
  await psql(g.url(token), ["-tA", "-c", "drop table if exists nothing_here"]);
  await g.gw.recorder.durable();
}

async function caughtUp(i: number, logId: string): Promise<number[]> {
  const store = await openStore(storeUrl);
  try {
    for (const until = Date.now() + 30_000; Date.now() < until; await Bun.sleep(200)) {
      const size = await store.logSize(logId);
      const seqs = existsSync(sinkFile(i))
        ? readFileSync(sinkFile(i), "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l))
            .filter((r) => r.kind === "event")
        : [];
      const logs = new Set(seqs.map((r) => r.log_id));
      const got = new Set(seqs.map((r) => r.seq as number));
      if (size > 0 && got.size === size && [...logs].every((l) => l === logId))
        return [...got].sort((a, b) => a - b);
    }
    throw new Error(`sink ${i} did not catch up`);
  } finally {
    await store.close();
  }
}

test("each gateway streams its own log from its cursor, across a restart", async () => {
  const logs = gws.map((g) => g.gw.logId);
  expect(logs[0]).not.toBe(logs[1]);
  await run(gws[0]!, "agent-a@bank.example");
  await run(gws[1]!, "agent-b@bank.example");
  const before = await caughtUp(0, logs[0]!);
  await caughtUp(1, logs[1]!);
  await gws[0]!.gw.stop();
  gws[0] = await start(0);
  await run(gws[0]!, "agent-a2@bank.example");
  const after = await caughtUp(0, logs[0]!);
  expect(after.length).toBeGreaterThan(before.length);
  expect(after).toEqual(after.map((_, i) => i)); // 0..n-1, none missing
}, 90_000);

test("one bundle over the shared store's logs verifies in both verifiers", async () => {
  for (const g of gws) await g.gw.stop();
  const key = await loadOrCreateGatewayKey(dirs[0]!);
  const signer = await importSigner({ privateKeyPkcs8: key.pkcs8, publicKeyRaw: key.publicRaw });
  const store = await openStore(storeUrl);
  const result = await exportEvidence({
    store,
    selection: { from: 0, to: Date.now() },
    signer,
    inventory: { connections: [], entitlements: {} },
    approvals: { requests: [], decisions: [] },
    policyBundles: new Map(),
  });
  await store.close();
  expect(result.logs.length).toBe(2);
  expect(result.unproven).toBe(0);
  const path = join(dirs[0]!, "shared.tar.gz");
  writeFileSync(path, result.bytes);
  const files = readTarGz(result.bytes);
  const ts = await verifyBundle(files);
  const py = await verifyPy(files.get("verify.py")!, path);
  expect(ts.failures).toEqual([]);
  expect(py.failures).toEqual([]);
  expect(ts.counts).toEqual(py.counts as never);
  expect(ts.counts.recordings).toBeGreaterThan(0);
}, 60_000);
