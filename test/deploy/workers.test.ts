// `custos serve` with listen.workers: 2, run as an operator runs it (a separate process, from an empty
// directory) in front of a real PostgreSQL: the supervisor and its two workers sharing one port
// (SO_REUSEPORT), cancel requests reaching the worker that owns the session wherever the kernel hands them,
// forged keys cancelling nothing, SIGHUP and SIGTERM reaching every worker, a killed worker restarted, one
// audit log per worker verified as one (and a tampered row in one of them named).
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { type LongRunning, logRecords, runCli, SOURCE_CLI, spawnCli } from "../support/cli-process.ts";
import { freePort } from "../support/free-port.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import { cancelRequest, RawClient } from "../support/raw-client.ts";

let db: PgServer;
let dir: string;
let cwd: string;
let file: string;
let pgPort: number;
let httpPort: number;
let serve: LongRunning;
let token: string;
let env: Record<string, string>;

/** The worker (1 or 2) a minted cancel key names: the secret's top bit (cancel-registry.ts). */
const ownerOf = (secret: number) => (secret >>> 31) + 1;

beforeAll(async () => {
  db = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), "custos-workers-"));
  cwd = join(dir, "run");
  mkdirSync(cwd);
  [pgPort, httpPort] = [await freePort(), await freePort()];
  file = join(cwd, "custos.yaml");
  writeFileSync(
    file,
    [
      `listen: {postgres: "127.0.0.1:${pgPort}", http: "127.0.0.1:${httpPort}", workers: 2}`,
      "data_dir: ./data",
      "identity: {agent_groups: [agents]}",
      "connections:",
      "  - name: ledger",
      "    type: postgres",
      `    target: {host: 127.0.0.1, port: ${db.port}, database: ${db.database}, user: ${db.roles.scram.user}, password_env: LEDGER_PASSWORD, tls: disable}`,
      "    allow_groups: [agents, dba]",
      "    classification: {scan: false}",
      "",
    ].join("\n"),
  );
  env = { LEDGER_PASSWORD: db.roles.scram.password };
  serve = spawnCli(SOURCE_CLI, ["serve", "--config", file], { cwd, env });
  await serve.waitFor(/"msg":"gateway started","workers":2/, 90_000);
  const issued = runCli(
    SOURCE_CLI,
    ["token", "issue", "--config", file, "--subject", "w-agent", "--groups", "dba"],
    {
      cwd,
      env,
    },
  );
  expect(issued.exitCode).toBe(0);
  token = issued.stdout.trim();
}, 120_000);

afterAll(async () => {
  if (serve?.proc.exitCode === null) await serve.stop();
  await db?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const clientConfig = () => ({
  host: "127.0.0.1",
  port: pgPort,
  user: "w-agent",
  password: token,
  database: "ledger",
});

async function connect(): Promise<pg.Client & { processID: number; secretKey: number }> {
  const c = new pg.Client(clientConfig());
  await c.connect();
  return c as pg.Client & { processID: number; secretKey: number };
}

async function sendCancel(pid: number, secret: number): Promise<void> {
  const c = await RawClient.connect(pgPort);
  c.send(cancelRequest(pid, secret));
  await c.waitClosed();
}

const records = () => logRecords(serve.stderr);

describe("two workers behind one port", () => {
  test("both workers take sessions on the same port; /metrics answers for both, labelled by worker", async () => {
    const owners = new Set<number>();
    for (let i = 0; i < 20 && owners.size < 2; i++) {
      const c = await connect();
      const { rows } = await c.query("select current_user as who");
      expect(rows[0]?.who).toBe(db.roles.scram.user);
      owners.add(ownerOf(c.secretKey));
      await c.end();
    }
    expect([...owners].sort()).toEqual([1, 2]);
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toContain('custos_worker_up{worker="1"} 1');
    expect(metrics).toContain('custos_worker_up{worker="2"} 1');
    expect(metrics).toMatch(/process_resident_memory_bytes\{worker="1"\} \d+/);
    expect(metrics).toMatch(/process_resident_memory_bytes\{worker="2"\} \d+/);
    // Each family's HELP/TYPE once, its samples together (text format 0.0.4).
    expect(metrics.match(/^# TYPE process_resident_memory_bytes /gm)?.length).toBe(1);
    // The control sockets are the gateway user's only.
    for (const id of [1, 2]) {
      expect(statSync(join(cwd, "data/run", `worker-${id}.sock`)).mode & 0o777).toBe(0o600);
    }
    expect(statSync(join(cwd, "data/run")).mode & 0o777).toBe(0o700);
  }, 60_000);

  test("a CancelRequest lands on either worker and cancels pg_sleep on the owner, across workers both ways", async () => {
    const forwardedTo = new Set<number>();
    const owners = new Set<number>();
    for (let i = 0; i < 40 && (forwardedTo.size < 2 || owners.size < 2); i++) {
      const c = await connect();
      owners.add(ownerOf(c.secretKey));
      const started = Date.now();
      const outcome = c.query("select pg_sleep(10)").then(
        () => ({ code: "none" }),
        (e: { code?: string }) => e,
      );
      await Bun.sleep(150);
      await sendCancel(c.processID, c.secretKey);
      const err = await outcome;
      expect(err.code).toBe("57014");
      expect(Date.now() - started).toBeLessThan(4000);
      // The session itself goes on.
      expect((await c.query("select 1 as one")).rows[0]?.one).toBe(1);
      await c.end();
      for (const r of records())
        if (r.msg === "cancel forwarded" && r.matched === true) forwardedTo.add(r.to_worker as number);
    }
    expect([...owners].sort()).toEqual([1, 2]);
    expect([...forwardedTo].sort()).toEqual([1, 2]);
  }, 120_000);

  test("psql's own cancel (SIGINT) ends pg_sleep whichever worker holds the session", async () => {
    const url = `postgresql://w-agent@127.0.0.1:${pgPort}/ledger?sslmode=disable`;
    for (let i = 0; i < 4; i++) {
      const proc = Bun.spawn(["psql", "-X", "-c", "select pg_sleep(10)", url], {
        env: { PATH: process.env.PATH ?? "", PGPASSWORD: token },
        stdout: "pipe",
        stderr: "pipe",
      });
      await Bun.sleep(700);
      const started = Date.now();
      proc.kill("SIGINT");
      await proc.exited;
      expect(Date.now() - started).toBeLessThan(4000);
      expect(await new Response(proc.stderr).text()).toContain("canceling statement due to user request");
    }
  }, 60_000);

  test("forged keys cancel nothing: another worker's bit on a live key, a wrong secret, a wrong pid", async () => {
    const c = await connect();
    const outcome = c.query("select pg_sleep(2) as slept").then(
      (r) => ({ ok: true, rows: r.rows, code: undefined as string | undefined }),
      (e: { code?: string }) => ({ ok: false, rows: [], code: e.code }),
    );
    await Bun.sleep(150);
    const { processID: pid, secretKey: secret } = c;
    // Each forgery sent several times so it lands on both workers.
    for (let i = 0; i < 6; i++) {
      await sendCancel(pid, (secret ^ 0x80000000) | 0); // the same key, naming the other worker
      await sendCancel(pid, (secret ^ 1) | 0); // the right worker, a wrong secret
      await sendCancel(pid + 1, secret); // the right secret, a wrong pid
    }
    const r = await outcome;
    expect(r.code).toBeUndefined();
    expect(r.ok).toBe(true);
    await c.end();
  }, 30_000);

  test("SIGHUP reaches every worker: each reloads its policy bundle", async () => {
    const before = records().filter((r) => r.msg === "policy bundle loaded").length;
    serve.proc.kill("SIGHUP");
    const deadline = Date.now() + 20_000;
    let reloaded = new Set<unknown>();
    while (Date.now() < deadline) {
      reloaded = new Set(
        records()
          .filter((r) => r.msg === "policy bundle loaded")
          .slice(before)
          .map((r) => r.worker),
      );
      if (reloaded.size >= 2) break;
      await Bun.sleep(100);
    }
    expect([...reloaded].sort()).toEqual([1, 2]);
  }, 30_000);

  test("a worker killed with SIGKILL is restarted; the gateway keeps serving", async () => {
    const w2 = records().find((r) => r.msg === "custos starting" && r.worker === 2);
    expect(typeof w2?.pid).toBe("number");
    process.kill(w2?.pid as number, "SIGKILL");
    await serve.waitFor(/"msg":"worker restarted","worker":2/, 60_000);
    const restarted = records().filter((r) => r.msg === "worker started" && r.worker === 2);
    expect(restarted.length).toBe(2);
    const exit = records().find((r) => r.msg === "worker exited; restarting");
    expect(exit).toMatchObject({ worker: 2, signal: "SIGKILL" });
    for (let i = 0; i < 6; i++) {
      const c = await connect();
      expect((await c.query("select 1 as one")).rows[0]?.one).toBe(1);
      await c.end();
    }
  }, 90_000);

  test("SIGTERM drains every worker and the supervisor exits 0; audit verify checks every worker's log", async () => {
    expect(await serve.stop()).toBe(0);
    const stopped = records().filter((r) => r.msg === "gateway stopped");
    expect(stopped.map((r) => r.worker ?? "supervisor").sort()).toEqual([1, 2, "supervisor"]);
    // Only the kill above was an error.
    expect(
      records()
        .filter((r) => r.level === "error" && r.msg !== "worker exited; restarting")
        .map((r) => r.msg),
    ).toEqual([]);

    const instance = readFileSync(join(cwd, "data/instance-id"), "utf8").trim();
    const verify = runCli(SOURCE_CLI, ["audit", "verify", "--config", file], { cwd, env });
    expect(verify.stderr).toBe("");
    expect(verify.stdout).toMatch(new RegExp(`ok {4}${instance}\\.w1: \\d+ events`));
    expect(verify.stdout).toMatch(new RegExp(`ok {4}${instance}\\.w2: \\d+ events`));
    expect(verify.exitCode).toBe(0);

    // One row of worker 2's log rewritten in place (the subject's name, same length): verify fails and names
    // that log, and only that log.
    const sqlite = new Database(join(cwd, "data/audit.db"));
    try {
      const row = sqlite
        .query(
          "SELECT seq, body FROM audit_events WHERE log_id = ? AND type = 'session.start' ORDER BY seq LIMIT 1",
        )
        .get(`${instance}.w2`) as { seq: number; body: Uint8Array } | null;
      expect(row).not.toBeNull();
      const body = Buffer.from(row?.body ?? []);
      const at = body.indexOf("w-agent");
      expect(at).toBeGreaterThan(-1);
      body.write("x", at);
      sqlite
        .query("UPDATE audit_events SET body = ? WHERE log_id = ? AND seq = ?")
        .run(body, `${instance}.w2`, row?.seq ?? -1);
    } finally {
      sqlite.close();
    }
    const tampered = runCli(SOURCE_CLI, ["audit", "verify", "--config", file], { cwd, env });
    expect(tampered.stderr).toBe("");
    expect(tampered.exitCode).toBe(1);
    expect(tampered.stdout).toMatch(new RegExp(`FAIL {2}${instance}\\.w2: event \\d+`));
    expect(tampered.stdout).toMatch(new RegExp(`ok {4}${instance}\\.w1:`));
  }, 90_000);
});

describe("start-up failures with workers", () => {
  test("a taken port: exit 1 naming address:port, no worker left running", async () => {
    const port = await freePort();
    const squatter = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    try {
      const here = join(dir, "bind");
      mkdirSync(here);
      const config = join(here, "custos.yaml");
      writeFileSync(config, readFileSync(file, "utf8").replace(`127.0.0.1:${pgPort}`, `127.0.0.1:${port}`));
      const r = runCli(SOURCE_CLI, ["serve", "--config", config], { cwd: here, env, timeoutMs: 30_000 });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`);
    } finally {
      squatter.stop(true);
    }
  }, 40_000);
});
