// Failures that must tell the truth to systemd, Kubernetes and the operator reading the log: each one is run
// through `custos serve` as a separate process started from an empty directory, and judged by its exit
// status, its stderr and the files it leaves behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../src/audit/store.ts";
import { allEvents } from "../support/audit-read.ts";
import { logRecords, runCli, SOURCE_CLI, spawnCli } from "../support/cli-process.ts";
import { freePort } from "../support/free-port.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "custos-failures-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh empty working directory holding only a config file with these YAML lines. */
function configIn(name: string, yaml: string[]): { cwd: string; file: string } {
  const cwd = join(dir, name);
  mkdirSync(cwd);
  const file = join(cwd, "custos.yaml");
  writeFileSync(file, `${yaml.join("\n")}\n`);
  return { cwd, file };
}

const ENV = { UPSTREAM_PASSWORD: "not-a-real-password" };

async function connection(upstreamPort: number): Promise<string[]> {
  return [
    "connections:",
    "  - name: ledger",
    "    type: postgres",
    `    target: {host: 127.0.0.1, port: ${upstreamPort}, database: ledger, user: app, password_env: UPSTREAM_PASSWORD, tls: disable}`,
    "    allow_groups: [agents]",
    "    classification: {scan: false}",
  ];
}

async function listenLines(): Promise<{ pg: number; http: number; lines: string[] }> {
  const pg = await freePort();
  const http = await freePort();
  return {
    pg,
    http,
    lines: [`listen: {postgres: "127.0.0.1:${pg}", http: "127.0.0.1:${http}"}`, "data_dir: ./data"],
  };
}

describe("start-up errors exit non-zero with one line that says what and where", () => {
  test("a postgres listener whose port is taken: address:port and the reason, exit 1, no process left", async () => {
    const l = await listenLines();
    const squatter = Bun.listen({ hostname: "127.0.0.1", port: l.pg, socket: { data() {} } });
    try {
      const { cwd, file } = configIn("bind-pg", [...l.lines, ...(await connection(await freePort()))]);
      const r = runCli(SOURCE_CLI, ["serve", "--config", file], { cwd, env: ENV, timeoutMs: 20_000 });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${l.pg}: address already in use (EADDRINUSE)`);
    } finally {
      squatter.stop(true);
    }
  });

  test("the http listener's port is taken: named as listen.http", async () => {
    const l = await listenLines();
    const squatter = Bun.listen({ hostname: "127.0.0.1", port: l.http, socket: { data() {} } });
    try {
      const { cwd, file } = configIn("bind-http", [...l.lines, ...(await connection(await freePort()))]);
      const r = runCli(SOURCE_CLI, ["serve", "--config", file], { cwd, env: ENV, timeoutMs: 20_000 });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`listen.http: cannot listen on 127.0.0.1:${l.http}: address already in use`);
    } finally {
      squatter.stop(true);
    }
  });

  test("an address this host does not have", async () => {
    const port = await freePort();
    const { cwd, file } = configIn("bind-addr", [
      `listen: {postgres: "192.0.2.1:${port}", http: "127.0.0.1:${await freePort()}"}`,
      "data_dir: ./data",
      ...(await connection(await freePort())),
    ]);
    const r = runCli(SOURCE_CLI, ["serve", "--config", file], { cwd, env: ENV, timeoutMs: 20_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`cannot listen on 192.0.2.1:${port}: address not available on this host`);
  });

  test("a configured policy bundle that does not exist", async () => {
    const l = await listenLines();
    const { cwd, file } = configIn("no-bundle", [
      ...l.lines,
      "policy: {bundle: ./policy/missing.tar.gz}",
      ...(await connection(await freePort())),
    ]);
    const r = runCli(SOURCE_CLI, ["serve", "--config", file], { cwd, env: ENV });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`policy bundle ${join(cwd, "policy/missing.tar.gz")} does not exist`);
    // Refused before anything was created: no audit log claims this gateway ever started.
    expect(() => statSync(join(cwd, "data", "audit.db"))).toThrow();
  });

  test("a config with no connections, and an empty file, are refused with a hint", async () => {
    const l = await listenLines();
    const some = configIn("no-connections", l.lines);
    const r = runCli(SOURCE_CLI, ["serve", "--config", some.file], { cwd: some.cwd });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("defines no connections, so the gateway would guard nothing");
    expect(r.stderr).toContain('"connections:"');
    const empty = configIn("empty", []);
    const e = runCli(SOURCE_CLI, ["serve", "--config", empty.file], { cwd: empty.cwd });
    expect(e.exitCode).toBe(1);
    expect(e.stderr).toContain("defines no connections");
  });

  test("an audit store that cannot be opened is named", async () => {
    const l = await listenLines();
    const { cwd, file } = configIn("bad-store", [
      ...l.lines,
      "audit: {store: sqlite:/nonexistent-custos-dir/audit.db}",
      ...(await connection(await freePort())),
    ]);
    const r = runCli(SOURCE_CLI, ["serve", "--config", file], { cwd, env: ENV });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("audit store sqlite:/nonexistent-custos-dir/audit.db cannot be opened");
    expect(r.stderr).toContain("its directory does not exist (ENOENT)");
  });
});

describe("a running gateway's log and files", () => {
  let serve: ReturnType<typeof spawnCli>;
  let cwd: string;
  let file: string;
  let upstreamPort: number;
  let pgPort: number;
  let exitCode: number;

  beforeAll(async () => {
    const l = await listenLines();
    pgPort = l.pg;
    upstreamPort = await freePort(); // nothing listens there
    ({ cwd, file } = configIn("running", [
      ...l.lines,
      "identity: {agent_groups: [agents]}",
      ...(await connection(upstreamPort)),
    ]));
    serve = spawnCli(SOURCE_CLI, ["serve", "--config", file], { cwd, env: ENV });
    await serve.waitFor(/"msg":"gateway started"/);
  });

  const token = (subject: string, groups: string) => {
    const r = runCli(
      SOURCE_CLI,
      ["token", "issue", "--config", file, "--subject", subject, "--groups", groups],
      {
        cwd,
        env: ENV,
      },
    );
    expect(r.exitCode).toBe(0);
    return r.stdout.trim();
  };
  const psql = (user: string, password: string) =>
    Bun.spawnSync(
      [
        "psql",
        "-X",
        "-tA",
        "-c",
        "SELECT 1",
        `postgresql://${user}@127.0.0.1:${pgPort}/ledger?sslmode=require`,
      ],
      {
        env: { PATH: process.env.PATH ?? "", PGPASSWORD: password, PGCONNECT_TIMEOUT: "10" },
        stdout: "pipe",
        stderr: "pipe",
      },
    );

  test("audit.db (with its WAL files) and every key file are mode 0600", () => {
    for (const name of [
      "audit.db",
      "audit.db-wal",
      "audit.db-shm",
      "gateway-key.pem",
      "masking-hmac.key",
      "tls-self-signed.pem",
    ]) {
      const mode = statSync(join(cwd, "data", name)).mode & 0o777;
      expect({ name, mode: mode.toString(8) }).toEqual({ name, mode: "600" });
    }
  });

  test("the first log record carries the version", () => {
    const first = logRecords(serve.stderr)[0]!;
    expect(first.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  test("refusals say 'session refused' and name the subject", async () => {
    const outsider = token("mallory-outsider", "outsiders");
    const r = psql("mallory-outsider", outsider);
    expect(r.exitCode).not.toBe(0);
    const garbage = psql("someone", "not-a-token");
    expect(garbage.exitCode).not.toBe(0);
    await serve.waitFor(/"msg":"session refused".*"subject":null/);
    const refused = logRecords(serve.stderr).filter((r) => r.msg === "session refused");
    expect(refused.some((r) => r.subject === "mallory-outsider" && r.code === "access.forbidden")).toBe(true);
    expect(refused.some((r) => r.subject === null && String(r.code).startsWith("identity."))).toBe(true);
    expect(serve.stderr).not.toContain("connection refused");
  });

  test("an unreachable upstream is logged with host, port and errno", async () => {
    const agent = token("ada-agent", "agents");
    const r = psql("ada-agent", agent);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.toString()).toContain("upstream server is unreachable");
    await serve.waitFor(/"msg":"upstream error"/);
    const logged = logRecords(serve.stderr).find((r) => r.msg === "upstream error")!;
    expect(logged).toMatchObject({
      host: "127.0.0.1",
      port: upstreamPort,
      errno: "ECONNREFUSED",
      subject: "ada-agent",
      connection: "ledger",
      code: "upstream.unreachable",
    });
  });

  test("SIGTERM: exit 0 and not one error record; the upstream failure is in the audit log", async () => {
    exitCode = await serve.stop();
    expect(exitCode).toBe(0);
    const records = logRecords(serve.stderr);
    expect(records.at(-1)?.msg).toBe("gateway stopped");
    expect(records.filter((r) => r.level === "error")).toEqual([]);
    const store = await openStore(`sqlite:${join(cwd, "data", "audit.db")}`);
    try {
      const events = await allEvents(store);
      const upstream = events.find((e) => e.type === "upstream.error");
      expect(upstream?.data).toMatchObject({ host: "127.0.0.1", port: upstreamPort, errno: "ECONNREFUSED" });
      const gatewayLog = events.filter((e) => e.logId === upstream?.logId);
      expect(gatewayLog.at(-1)?.type).toBe("gateway.stop");
    } finally {
      await store.close();
    }
  });
});
