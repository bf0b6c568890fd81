// deploy/systemd/custos.service: the hardening keys the deployment relies on, read from the parsed unit,
// and `systemd-analyze verify` on it where that binary exists (ExecStart pointed at this checkout's
// launcher, since /usr/local/bin/custos is not installed here).
import { expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DEPLOY, parseUnit, ROOT, scratch } from "./support.ts";

const TEXT = readFileSync(join(DEPLOY, "systemd/custos.service"), "utf8");
const unit = parseUnit(TEXT);
const service = unit.get("Service")!;
const one = (key: string) => {
  const values = service.get(key);
  expect(values, key).toBeDefined();
  return values!.at(-1)!;
};

test("runs as an unprivileged throw-away user with data_dir as its only writable state", () => {
  expect(one("DynamicUser")).toBe("yes");
  expect(one("StateDirectory")).toBe("custos");
  expect(one("StateDirectoryMode")).toBe("0700");
  expect(one("ExecStart")).toBe("/usr/local/bin/custos serve --config /etc/custos/custos.yaml");
  expect(service.has("User")).toBe(false);
});

test("hardening: no privileges, no capabilities, read-only system, only IP and unix sockets", () => {
  expect(one("NoNewPrivileges")).toBe("yes");
  expect(one("ProtectSystem")).toBe("strict");
  expect(one("PrivateTmp")).toBe("yes");
  expect(one("ProtectHome")).toBe("yes");
  expect(service.get("CapabilityBoundingSet")).toEqual([""]);
  expect(service.get("AmbientCapabilities")).toEqual([""]);
  expect(one("RestrictAddressFamilies").split(/\s+/).sort()).toEqual(["AF_INET", "AF_INET6", "AF_UNIX"]);
  // JavaScriptCore's JIT needs writable-then-executable memory.
  expect(service.has("MemoryDenyWriteExecute")).toBe(false);
});

test("signals: SIGHUP reloads, SIGTERM drains within the stop timeout", () => {
  expect(one("ExecReload")).toBe("/bin/kill -HUP $MAINPID");
  expect(one("KillSignal")).toBe("SIGTERM");
  expect(one("KillMode")).toBe("mixed");
  // serve drains with a 5 s grace, then flushes the recorder and writes the final checkpoint.
  const stop = /^(\d+)s$/.exec(one("TimeoutStopSec"));
  expect(Number(stop?.[1])).toBeGreaterThanOrEqual(15);
});

test("secrets arrive as credentials, not in the unit", () => {
  const creds = service.get("LoadCredential") ?? [];
  expect(creds.length).toBeGreaterThan(0);
  for (const c of creds) expect(c).toMatch(/^[a-z0-9-]+:\/etc\/custos\/[\w/.-]+$/);
  expect(TEXT).not.toMatch(/^Environment=.*(PASSWORD|SECRET|TOKEN|postgres:\/\/)/m);
  expect(one("EnvironmentFile")).toBe("/etc/custos/custos.env");
});

test("systemd-analyze verify accepts the unit with no warnings", () => {
  const analyze = Bun.which("systemd-analyze");
  if (!analyze) {
    console.warn("SKIPPED: systemd-analyze not found; the unit was only checked by parsing");
    return;
  }
  const dir = scratch("custos-unit-");
  try {
    const path = dir.write(
      "custos.service",
      TEXT.replace("ExecStart=/usr/local/bin/custos", `ExecStart=${join(ROOT, "custos")}`),
      0o644,
    );
    const run = Bun.spawnSync([analyze, "verify", path], { stdout: "pipe", stderr: "pipe" });
    const output = `${run.stdout.toString()}${run.stderr.toString()}`;
    expect(output).toBe("");
    expect(run.exitCode).toBe(0);
    // It does catch mistakes: an unknown key is reported.
    const bad = dir.write(
      "custos.service",
      TEXT.replace("[Install]", "ProtectSytem=strict\n[Install]"),
      0o644,
    );
    const badRun = Bun.spawnSync([analyze, "verify", bad], { stdout: "pipe", stderr: "pipe" });
    expect(badRun.stderr.toString()).toContain("Unknown key 'ProtectSytem'");
  } finally {
    rmSync(dir.dir, { recursive: true, force: true });
  }
});
