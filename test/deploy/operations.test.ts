// Operations commands from source: `custos version`, and the approvers' commands reading only the listen
// block of a config whose secrets are not there (an approver's copy of the file).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gatewayAddressFromConfig } from "../../src/config/gateway-address.ts";
import { loadConfig } from "../../src/config/load.ts";
import { renderProcessMetrics } from "../../src/pipeline/process-metrics.ts";
import { buildInfo } from "../../src/version.ts";
import { PROJECT_ROOT, runCli, SOURCE_CLI } from "../support/cli-process.ts";
import { freePort } from "../support/free-port.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "custos-ops-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, lines: string[]) => {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
};

// Everything a gateway needs, none of it resolvable here: env vars unset, files absent.
const FULL = (http: string, extra: string[] = []) => [
  `listen: {postgres: "127.0.0.1:15432", http: "${http}"${extra.length ? `, ${extra.join(", ")}` : ""}}`,
  "audit: {store_env: CUSTOS_AUDIT_URL_NOT_SET}",
  "masking: {hmac_key_file: /nonexistent/hmac.key}",
  "connections:",
  "  - name: ledger",
  "    type: postgres",
  "    target: {host: db, database: ledger, user: app, password_env: LEDGER_PASSWORD_NOT_SET}",
  "    allow_groups: [agents]",
];

test("custos version from source: version, the checkout's commit, 'from source', Bun", () => {
  const head = Bun.spawnSync(["git", "rev-parse", "HEAD"], { cwd: PROJECT_ROOT, stdout: "pipe" })
    .stdout.toString()
    .trim();
  const r = runCli(SOURCE_CLI, ["version"], { cwd: dir });
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toContain(`commit ${head}`);
  expect(r.stdout).toContain("built from source");
  expect(r.stdout).toContain(`bun ${Bun.version}`);
  expect(runCli(SOURCE_CLI, ["--version"], { cwd: dir }).stdout).toBe(r.stdout);
});

test("process metrics use the Prometheus client names and real values", () => {
  const text = renderProcessMetrics(buildInfo());
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
  expect(value("process_resident_memory_bytes")).toBeGreaterThan(10 * 1024 * 1024);
  expect(value("process_cpu_seconds_total")).toBeGreaterThan(0);
  expect(value("process_open_fds")).toBeGreaterThan(2);
  expect(text).toContain(`custos_build_info{version="${buildInfo().version}",commit="${buildInfo().commit}"`);
});

test("the gateway address comes from listen.public_url, else listen.http, and nothing else is read", () => {
  const full = write("full.yaml", FULL("10.0.0.5:8080"));
  // The whole file would not load (its secrets are not here)…
  expect(() => loadConfig(full)).toThrow();
  // …but the address does.
  expect(gatewayAddressFromConfig(full)).toBe("http://10.0.0.5:8080");
  const pub = write("public.yaml", FULL("0.0.0.0:8080", ['public_url: "https://custos.bank.example/"']));
  expect(gatewayAddressFromConfig(pub)).toBe("https://custos.bank.example");
  expect(gatewayAddressFromConfig(write("wild.yaml", FULL("0.0.0.0:9090")))).toBe("http://127.0.0.1:9090");
  expect(gatewayAddressFromConfig(write("only-listen.yaml", ['listen: {http: "[::1]:8081"}']))).toBe(
    "http://[::1]:8081",
  );
  expect(() => gatewayAddressFromConfig(write("bad.yaml", ['listen: {http: "nope"}']))).toThrow(
    /listen\.http: expected host:port/,
  );
});

test("access list --config with an approver's secretless copy reaches for the gateway it names", async () => {
  const port = await freePort(); // nothing listens: the error names where the command went
  const file = write("approver.yaml", FULL(`127.0.0.1:${port}`));
  const r = runCli(SOURCE_CLI, ["access", "list", "--config", file, "--token", "t"], { cwd: dir });
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toContain(`cannot reach the gateway at http://127.0.0.1:${port}`);
  expect(r.stderr).not.toContain("LEDGER_PASSWORD_NOT_SET");
  // And a live one answers: the request arrives at the address from the file, with the caller's token.
  let seen = "";
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      seen = `${req.method} ${new URL(req.url).pathname} ${req.headers.get("authorization")}`;
      return Response.json({ requests: [] });
    },
  });
  try {
    const live = write("live.yaml", FULL(`127.0.0.1:${server.port}`));
    const ok = Bun.spawn([...SOURCE_CLI, "access", "list", "--config", live, "--token", "approver-token"], {
      cwd: dir,
      stdout: "pipe",
      stderr: "pipe",
    });
    const code = await ok.exited;
    expect(await new Response(ok.stderr).text()).toBe("");
    expect(code).toBe(0);
    expect(seen).toBe("GET /api/approvals Bearer approver-token");
  } finally {
    server.stop(true);
  }
});
