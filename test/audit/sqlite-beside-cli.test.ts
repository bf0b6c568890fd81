// Operators run CLIs (`custos token issue`, `console link`…) beside a live gateway on the same data_dir. These
// run a real gateway in this process (its recorder worker holding the SQLite store), real CLI processes writing
// to the store, and this process opening the store itself, in a loop; judged by what a separate process reads
// from the file. Then the way it broke (SQLITE_IOERR "disk I/O error" in test/kubernetes/kubectl.test.ts): a
// read of the store's files from the gateway's own process drops its POSIX locks, the next CLI takes the store
// over and unlinks the -wal: the store must refuse to report commits durable from then on.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { decodeEvent } from "../../src/audit/codec.ts";
import { openStore } from "../../src/audit/store.ts";
import { cliLogId } from "../../src/cli/store-access.ts";
import { instanceId } from "../../src/instance-id.ts";
import { PROJECT_ROOT } from "../../src/policy/opa.ts";
import { dataDirBytes } from "../support/data-dir-files.ts";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import { otherProcessWrites } from "../support/sqlite-takeover.ts";
import { ev, newLogId, testSigner, writeLog } from "./fixtures.ts";

/** Runs a child process to its end without blocking this one (the gateway lives here). */
async function run(cmd: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

const custos = (args: string[]) => run([process.execPath, join(PROJECT_ROOT, "src/cli/main.ts"), ...args]);

/**
 * Counts rows from another process with plain bun:sqlite, so the answer is the file's and not this process's
 * view of it. Types of event per log id, as JSON.
 */
async function eventsOnDisk(path: string): Promise<Record<string, Record<string, number>>> {
  const script = `
    const { Database } = require("bun:sqlite");
    const db = new Database(process.argv[1], { readonly: true });
    db.exec("PRAGMA busy_timeout = 5000");
    const out = {};
    for (const r of db.query("SELECT log_id, type, count(*) AS n FROM audit_events GROUP BY log_id, type").all())
      (out[r.log_id] ??= {})[r.type] = r.n;
    process.stdout.write(JSON.stringify(out));`;
  const r = await run([process.execPath, "-e", script, path]);
  if (r.code !== 0) throw new Error(`reading ${path} from another process failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe("a live gateway, CLIs writing to its SQLite store, and this process reading it", () => {
  let pg: PgServer;
  let idp: OidcIssuer;
  let gw: TestGateway;
  let configFile: string;

  beforeAll(async () => {
    [pg, idp] = await Promise.all([startPostgres(), startOidcIssuer()]);
    gw = await startTestGateway({
      pg,
      issuer: idp,
      config: { console: { roles: { admin: ["custos-admins"], approver: [], auditor: [] } } },
    });
    // The CLI's copy of the config: the same data_dir (so the same store and gateway key).
    configFile = join(gw.dataDir, "cli.yaml");
    writeFileSync(
      configFile,
      JSON.stringify({
        data_dir: gw.dataDir,
        listen: { http: `127.0.0.1:${gw.httpPort}` },
        identity: { agent_groups: ["agents"] },
        console: { roles: { admin: ["custos-admins"], approver: [], auditor: [] } },
        connections: [
          {
            name: "ledger",
            type: "postgres",
            target: { host: "127.0.0.1", port: 5432, database: "ledger", user: "u" },
            allow_groups: ["dba"],
          },
        ],
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await Promise.all([pg?.stop(), idp?.stop()]);
  });

  test("in a loop: statements through the gateway, token issue and console link, openStore here, a data_dir scan", async () => {
    const own = instanceId(gw.dataDir);
    const store = `${gw.dataDir}/audit.db`;
    const url = gw.url(await gw.token("ops-1"));
    const rounds = 6;
    for (let i = 0; i < rounds; i++) {
      const q = await psql(url, ["-Atc", `SELECT ${1000 + i}`]);
      expect(q.stderr).toBe("");
      expect(q.stdout.trim()).toBe(String(1000 + i));
      await gw.gw.recorder.durable();
      const cli =
        i % 2 === 0
          ? await custos(["token", "issue", "--config", configFile, "--subject", `svc-${i}`])
          : await custos(["console", "link", "--config", configFile, "--subject", `sre-${i}`]);
      expect(cli.stderr).toBe("");
      expect(cli.code).toBe(0);
      // This process opens the store beside the recorder worker's connection, as tests and the API do.
      const mine = await openStore(`sqlite:${store}`);
      try {
        const cliEvents = await mine.readEvents(cliLogId(own), 0, 100);
        expect(cliEvents.filter((e) => e.type === "token.issued").length).toBe(i + 1);
        expect(decodeEvent(cliEvents.at(-1)!.body).data).toMatchObject({
          subject: i % 2 ? `sre-${i}` : `svc-${i}`,
        });
      } finally {
        await mine.close();
      }
      // A scan for stored values, the way the protocol suites do it: out of this process.
      expect(dataDirBytes(gw.dataDir, (n) => n.startsWith("audit")).length).toBeGreaterThan(0);
    }
    await gw.gw.recorder.durable();
    // By effect, from another process: every statement and every CLI event is in the file.
    const onDisk = await eventsOnDisk(store);
    expect(onDisk[cliLogId(own)]?.["token.issued"]).toBe(rounds);
    expect(onDisk[own]?.statement ?? 0).toBeGreaterThanOrEqual(rounds);
    // And the whole store verifies from a CLI process while the gateway keeps it open.
    const verify = await custos(["audit", "verify", "--config", configFile]);
    expect(verify.stdout).not.toContain("FAIL");
    expect(verify.code).toBe(0);
  }, 120_000);
});

describe("the store beside a process that dropped its own SQLite locks", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function setUp(scan: (path: string) => void) {
    const dir = mkdtempSync(join(tmpdir(), "custos-wal-"));
    dirs.push(dir);
    const path = join(dir, "audit.db");
    const store = await openStore(`sqlite:${path}`);
    const logId = newLogId("lost");
    await writeLog(store, logId, 2, 3);
    scan(path);
    const other = await otherProcessWrites(
      path,
      "INSERT INTO audit_logs (log_id, public_key, created_at) VALUES ('other-' || random(), x'00', 0)",
    );
    expect(other.stderr).toBe("");
    expect(other.code).toBe(0);
    return { path, store, logId };
  }

  async function nextBatch(store: Awaited<ReturnType<typeof openStore>>, logId: string) {
    const { LogWriter } = await import("../../src/audit/log-writer.ts");
    const writer = await LogWriter.open(store, logId, await testSigner());
    const p = await writer.prepare(
      [ev("statement", `${logId}-s`, { text: "select 'after'" })],
      new Map(),
      true,
    );
    return p.batch;
  }

  test("after an in-process read of audit.db and its -shm, a commit is refused, not reported durable", async () => {
    const { path, store, logId } = await setUp((p) => {
      // The harmful pattern: open and close the store's files in the process holding the store.
      readFileSync(p);
      readFileSync(`${p}-shm`);
    });
    const err = await store.commit(await nextBatch(store, logId)).catch((e) => e);
    expect(err?.code).toBe("audit.unavailable");
    expect(String(err?.message)).toContain(`${path}-wal`);
    // Refused every time after, not only once (the recorder retries a failed batch unchanged).
    expect((await store.commit(await nextBatch(store, logId)).catch((e) => e))?.code).toBe(
      "audit.unavailable",
    );
    // By effect: the file holds what was committed before (the other process checkpointed it) and nothing
    // claimed after.
    expect((await eventsOnDisk(path))[logId]).toEqual({ statement: 6, "recording.batch": 1 });
    await store.close();
  });

  test("the same sequence with the data_dir read out of process: the commit lands and this process reopens", async () => {
    const { path, store, logId } = await setUp((p) => {
      expect(dataDirBytes(dirname(p)).length).toBeGreaterThan(0);
    });
    await store.commit(await nextBatch(store, logId));
    const again = await openStore(`sqlite:${path}`);
    expect((await again.readEvents(logId, 0, 100)).length).toBe(8);
    await again.close();
    await store.close();
    expect((await eventsOnDisk(path))[logId]).toEqual({ statement: 7, "recording.batch": 1 });
  });
});
