// The single executable as an operator gets it: scripts/build-binary builds it (with SHA256SUMS and the
// SBOM) into a temporary directory, and every run below starts it from an empty directory with an empty
// environment and — where the kernel lets root make a private mount namespace — with this checkout, its
// node_modules and its Bun hidden under empty tmpfs mounts, so nothing outside the executable can be read.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { logRecords, PROJECT_ROOT, runCli, spawnCli } from "../support/cli-process.ts";
import { freePort } from "../support/free-port.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";

let dist: string;
let cli: string[];
let hidden = false;
let pg: PgServer;

/** `unshare -m` + tmpfs over the checkout, node_modules and .tools, when this host allows it. */
function isolation(): string[] {
  const paths = [PROJECT_ROOT, join(PROJECT_ROOT, "node_modules"), join(PROJECT_ROOT, ".tools")].map((p) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  });
  const mounts = [...new Set(paths)];
  const prefix = [
    "unshare",
    "-m",
    "sh",
    "-c",
    `${mounts.map((p) => `mount -t tmpfs none ${JSON.stringify(p)}`).join(" && ")} && exec "$@"`,
    "sh",
  ];
  const probe = Bun.spawnSync([...prefix, "true"], { stdout: "ignore", stderr: "ignore" });
  if (probe.exitCode !== 0) return [];
  return prefix;
}

function emptyDir(name: string): string {
  const dir = join(dist, "runs", name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  dist = mkdtempSync(join(tmpdir(), "custos-binary-"));
  const build = Bun.spawnSync([join(PROJECT_ROOT, "scripts/build-binary"), "linux-x64"], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, CUSTOS_DIST: dist },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (build.exitCode !== 0) throw new Error(`scripts/build-binary failed: ${build.stderr.toString()}`);
  const prefix = process.arch === "x64" ? isolation() : [];
  hidden = prefix.length > 0;
  cli = [...prefix, join(dist, "custos-linux-x64")];
  pg = await startPostgres();
}, 180_000);

afterAll(async () => {
  await pg?.stop();
  rmSync(dist, { recursive: true, force: true });
});

describe("scripts/build-binary", () => {
  test("SHA256SUMS verifies with sha256sum, and covers the binary and the SBOM", () => {
    const check = Bun.spawnSync(["sha256sum", "-c", "SHA256SUMS"], {
      cwd: dist,
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(check.stdout.toString()).toContain("custos-linux-x64: OK");
    expect(check.stdout.toString()).toContain("custos.cdx.json: OK");
    expect(check.exitCode).toBe(0);
  });

  test("the SBOM is CycloneDX listing the runtime packages from bun.lock, not the dev tools", () => {
    const sbom = JSON.parse(readFileSync(join(dist, "custos.cdx.json"), "utf8"));
    expect(sbom.bomFormat).toBe("CycloneDX");
    expect(sbom.specVersion).toBe("1.6");
    const purls: string[] = sbom.components.map((c: { purl: string }) => c.purl);
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8"));
    for (const [name, version] of Object.entries(pkg.dependencies as Record<string, string>)) {
      expect(purls).toContain(`pkg:npm/${name.replace(/^@/, "%40")}@${version}`);
    }
    for (const name of Object.keys(pkg.devDependencies)) {
      expect(purls.some((p) => p.startsWith(`pkg:npm/${name.replace(/^@/, "%40")}@`))).toBe(false);
    }
    expect(purls).toContain(`pkg:generic/bun@${Bun.version}`);
    // Registry integrity hashes are carried over (sha512 → hex).
    const hono = sbom.components.find((c: { name: string }) => c.name === "hono");
    expect(hono.hashes[0].alg).toBe("SHA-512");
    expect(hono.hashes[0].content).toMatch(/^[0-9a-f]{128}$/);
  });
});

describe("the executable, from an empty directory with the checkout hidden", () => {
  test("isolation is in force on this host (or the test says why not)", () => {
    if (!hidden)
      console.warn("binary.test: no private mount namespace here; runs use an empty cwd and env only");
    if (hidden) {
      // Proof the mounts work: the same prefix cannot see the checkout's package.json.
      const probe = Bun.spawnSync([...cli.slice(0, -1), "test", "-e", join(PROJECT_ROOT, "package.json")]);
      expect(probe.exitCode).not.toBe(0);
    }
  });

  test("version and --version name the commit and the build date", () => {
    const head = Bun.spawnSync(["git", "rev-parse", "HEAD"], { cwd: PROJECT_ROOT, stdout: "pipe" })
      .stdout.toString()
      .trim();
    const cwd = emptyDir("version");
    const r = runCli(cli, ["version", "--json"], { cwd });
    expect(r.exitCode).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.commit.startsWith(head)).toBe(true);
    expect(info.compiled).toBe(true);
    expect(Number.isNaN(Date.parse(info.buildDate))).toBe(false);
    expect(info.bun).toBe(Bun.version);
    const short = runCli(cli, ["--version"], { cwd });
    expect(short.stdout).toMatch(/^custos \d+\.\d+\.\d+\ncommit [0-9a-f]{40}/);
  });

  test("every command's --help runs", async () => {
    const cwd = emptyDir("help");
    const help = runCli(cli, ["--help"], { cwd });
    expect(help.exitCode).toBe(0);
    const names = [...help.stdout.matchAll(/^ {2}([a-z]+(?: [a-z-]+)?) {2,}/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(15);
    // Four at a time: each start maps a 130 MB executable.
    for (let i = 0; i < names.length; i += 4) {
      const batch = names.slice(i, i + 4);
      const runs = await Promise.all(
        batch.map(async (name) => {
          const p = Bun.spawn([...cli, ...name.split(" "), "--help"], {
            cwd,
            env: { PATH: "/usr/bin:/bin" },
            stdout: "pipe",
          });
          return { name, code: await p.exited, out: await new Response(p.stdout).text() };
        }),
      );
      for (const r of runs) {
        expect({ name: r.name, code: r.code }).toEqual({ name: r.name, code: 0 });
        expect(r.out).toContain(`custos ${r.name}`);
      }
    }
  });

  test("serve against a real PostgreSQL: the SQL parser, the policy pack, metrics, the console and audit verify", async () => {
    const cwd = emptyDir("serve");
    const [pgPort, httpPort] = [await freePort(), await freePort()];
    const file = join(cwd, "custos.yaml");
    writeFileSync(
      file,
      [
        // Two workers: the executable supervises copies of itself (README "Workers").
        `listen: {postgres: "127.0.0.1:${pgPort}", http: "127.0.0.1:${httpPort}", workers: 2}`,
        "data_dir: ./data",
        "identity: {agent_groups: [agents]}",
        "connections:",
        "  - name: ledger",
        "    type: postgres",
        `    target: {host: 127.0.0.1, port: ${pg.port}, database: ${pg.database}, user: ${pg.roles.scram.user}, password_env: LEDGER_PASSWORD, tls: prefer}`,
        "    allow_groups: [agents]",
        "",
      ].join("\n"),
    );
    const env = { LEDGER_PASSWORD: pg.roles.scram.password };
    const migrated = runCli(cli, ["migrate", "--config", file], { cwd, env });
    expect(migrated.stderr).toBe("");
    expect(migrated.stdout).toContain("schema up to date");
    const serve = spawnCli(cli, ["serve", "--config", file], { cwd, env });
    try {
      await serve.waitFor(/"msg":"gateway started"/, 60_000);
      const token = runCli(
        cli,
        ["token", "issue", "--config", file, "--subject", "bin-agent", "--groups", "agents"],
        {
          cwd,
          env,
        },
      );
      expect(token.exitCode).toBe(0);
      const url = `postgresql://bin-agent@127.0.0.1:${pgPort}/ledger?sslmode=require`;
      const psql = (sql: string) =>
        Bun.spawnSync(["psql", "-X", "-tA", "-c", sql, url], {
          env: { PATH: process.env.PATH ?? "", PGPASSWORD: token.stdout.trim() },
          stdout: "pipe",
          stderr: "pipe",
        });
      const who = psql("SELECT current_user");
      expect(who.stderr.toString()).toBe("");
      expect(who.stdout.toString().trim()).toBe(pg.roles.scram.user);
      // The default pack, classified by the embedded libpg-query: agents may not write.
      pg.sql("CREATE TABLE IF NOT EXISTS bin_canary (id int); INSERT INTO bin_canary VALUES (1)");
      const write = psql("DELETE FROM bin_canary");
      expect(write.stderr.toString()).toContain("agents may only read");
      expect(pg.sql("SELECT count(*) FROM bin_canary").trim()).toBe("1");
      const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      expect(metrics).toMatch(/^custos_build_info\{version="\d+\.\d+\.\d+",commit="[0-9a-f]{40}/m);
      for (const w of [1, 2]) {
        expect(metrics).toMatch(new RegExp(`^process_resident_memory_bytes\\{worker="${w}"\\} \\d+`, "m"));
        expect(metrics).toMatch(new RegExp(`^process_open_fds\\{worker="${w}"\\} \\d+`, "m"));
      }
      // The console renders (its JSX runtime is in the executable).
      const login = await fetch(`http://127.0.0.1:${httpPort}/console/login`, { redirect: "manual" });
      expect(login.status).toBeLessThan(500);
      expect(await login.text()).not.toContain("jsx-dev-runtime");
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    expect(logRecords(serve.stderr).filter((r) => r.level === "error")).toEqual([]);
    const verify = runCli(cli, ["audit", "verify", "--config", file], { cwd, env });
    expect(verify.stderr).toBe("");
    expect(verify.exitCode).toBe(0);
  }, 120_000);

  test("demo: the embedded bank database behind the gateway, from an empty directory", async () => {
    const cwd = emptyDir("demo");
    const [port, httpPort] = [await freePort(), await freePort()];
    const demo = spawnCli(cli, ["demo", "--port", String(port), "--http-port", String(httpPort)], { cwd });
    try {
      const out = await demo.waitFor(/psql "postgresql:\/\/demo-agent:[^"]+"/, 90_000);
      const url = /psql "(postgresql:\/\/demo-agent:[^"]+)"/.exec(out)![1]!;
      const read = Bun.spawnSync(["psql", "-X", "-tA", "-c", "SELECT count(*) FROM customers", url], {
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(read.stderr.toString()).toBe("");
      expect(Number(read.stdout.toString().trim())).toBeGreaterThan(0);
      const write = Bun.spawnSync(["psql", "-X", "-tA", "-c", "DELETE FROM accounts", url], {
        stderr: "pipe",
      });
      expect(write.stderr.toString()).toContain("permission denied by policy");
    } finally {
      expect(await demo.stop()).toBe(0);
    }
    // The demo's files are in the working directory (the executable has no checkout to put them in).
    expect(readFileSync(join(cwd, "data", "demo", "custos.yaml"), "utf8")).toContain("data_dir");
    // The database came from the snapshot embedded at build time: a fresh initdb would have written one.
    expect(existsSync(join(cwd, "data", "demo", "pglite-snapshot"))).toBe(false);
  }, 150_000);
});
