// The README's configuration reference must be a config the gateway accepts, and every command it lists
// must exist: documentation that drifts from the code is a defect like any other.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";

const readme = await Bun.file(join(import.meta.dir, "../../README.md")).text();

test("the README's configuration reference loads with the real loader", () => {
  const block = readme.match(/```yaml\n([\s\S]*?)```/)?.[1];
  expect(block).toBeDefined();
  const dir = mkdtempSync(join(tmpdir(), "custos-readme-"));
  const file = join(dir, "custos.yaml");
  writeFileSync(file, block!);
  // Files the example names (read at load time, unlike secrets): a CA bundle for the HTTP upstream.
  const pem = Bun.spawnSync([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-subj",
    "/CN=billing",
    "-days",
    "1",
    "-keyout",
    join(dir, "k.pem"),
    "-out",
    join(dir, "billing-ca.pem"),
  ]);
  expect(pem.exitCode).toBe(0);
  writeFileSync(join(dir, "siem-ca.pem"), readFileSync(join(dir, "billing-ca.pem")));
  writeFileSync(join(dir, "cluster-ca.pem"), readFileSync(join(dir, "billing-ca.pem")));
  const config = loadConfig(file, {}, { secrets: false });
  expect(config.connections.map((c) => c.name)).toEqual(["ledger"]);
  expect(config.httpConnections.map((c) => c.name)).toEqual(["billing"]);
  expect(config.protocolConnections.map((c) => `${c.type}:${c.name}`)).toContain("kubernetes:prod-cluster");
  expect(config.masking.detectors[0]?.name).toBe("employee_id");
  expect(config.console.roles.auditor).toEqual(["internal-audit"]);
  expect(config.listen.publicUrl).toBe("https://custos.example.com");
  expect(config.siem.map((s) => `${s.type}:${s.format}`)).toEqual([
    "syslog:ocsf",
    "syslog:native",
    "http:ocsf",
    "http:ocsf",
    "file:ocsf",
  ]);
});

test("every command in the README's CLI table is one the CLI knows", async () => {
  const names = [...readme.matchAll(/^\| `custos ([a-z]+(?: [a-z]+)?)/gm)].map((m) => m[1]!);
  expect(names.length).toBeGreaterThan(10);
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../../src/cli/main.ts"), "--help"], {
    stdout: "pipe",
  });
  const help = await new Response(proc.stdout).text();
  for (const name of names) {
    const command = name.split(" ").filter((w) => !w.startsWith("-"));
    expect(help).toMatch(new RegExp(`^  ${command.join(" ")}\\b`, "m"));
  }
});
