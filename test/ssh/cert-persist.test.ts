// Certificates from `custos ssh login` survive a restart of the gateway (their records are on disk, signed,
// and hold no token), `custos ssh revoke` stops them before they expire, and an edited record refuses the
// login (fail closed). Real `ssh` against the real sshd behind the gateway; judged by effect: each login
// tries to remove a canary file on the target (a human's `rm` is allowed), and the file is read directly.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import { createLogger } from "../../src/core/log.ts";
import { startGateway } from "../../src/gateway.ts";
import { RECORDS_DIR } from "../../src/protocols/ssh/cert-records.ts";
import { defaultBundle } from "../support/policy-bundle.ts";
import { withEvents } from "./audit.ts";
import { run } from "./processes.ts";
import { type SshFixture, startSshFixture } from "./support.ts";

let f: SshFixture;
let work: string;
const HUMAN = "dana@bank.example";
/** The revocation test's subject: `--subject` must not reach the other tests' certificates. */
const OTHER = "erin@bank.example";
const CANARY = "canary: untouched\n";

/** `custos ssh login` into `dir`; returns the certificate's serial. */
async function login(token: string, dir: string): Promise<string> {
  const r = await run([
    "./custos",
    "ssh",
    "login",
    "--token",
    token,
    "--gateway",
    `http://127.0.0.1:${f.httpPort}`,
    "--out",
    dir,
  ]);
  if (r.code !== 0) throw new Error(`ssh login: ${r.stderr}`);
  const serial = (r.stdout + r.stderr).match(/serial[ :]+([0-9]+)/i)?.[1];
  if (serial) return serial;
  const { parseUserCertificate } = await import("../../src/protocols/ssh/cert-codec.ts");
  const line = readFileSync(join(dir, "id_ed25519-cert.pub"), "utf8").trim();
  return parseUserCertificate(Buffer.from(line.split(" ")[1]!, "base64")).serial.toString();
}

/** Logs in with the certificate in `dir` and tries to remove a fresh canary; true when it was removed. */
async function removesCanary(dir: string): Promise<boolean> {
  const canary = join(work, `canary-${crypto.randomUUID()}`);
  writeFileSync(canary, CANARY);
  await run([
    "ssh",
    "-p",
    String(f.sshPort),
    "-i",
    join(dir, "id_ed25519"),
    "-o",
    `CertificateFile=${join(dir, "id_ed25519-cert.pub")}`,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `UserKnownHostsFile=${join(dir, "known_hosts")}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "PreferredAuthentications=publickey",
    "-o",
    "BatchMode=yes",
    "-o",
    "LogLevel=ERROR",
    "build-host@127.0.0.1",
    `rm -f ${canary}`,
  ]);
  const removed = !existsSync(canary);
  if (!removed) expect(readFileSync(canary, "utf8")).toBe(CANARY);
  rmSync(canary, { force: true });
  return removed;
}

const revoke = (...args: string[]) => run(["./custos", "ssh", "revoke", "--config", f.configFile, ...args]);
const recordFile = (serial: string) => join(f.dataDir, RECORDS_DIR, `${serial}.json`);

/** Stops the gateway and starts a new one on the same config and data_dir (same ports). */
async function restartGateway(): Promise<void> {
  await f.gw.stop();
  const raw = JSON.parse(readFileSync(f.configFile, "utf8"));
  f.gw = await startGateway(parseConfig(raw, f.dataDir, {}), {
    logger: createLogger("debug", {}, () => {}),
    policyBundle: await defaultBundle(),
  });
  expect(f.gw.protocolPorts.ssh).toBe(f.sshPort);
}

beforeAll(async () => {
  f = await startSshFixture();
  work = mkdtempSync(join(tmpdir(), "custos-ssh-persist-"));
}, 60_000);

afterAll(async () => {
  // The fixture's own stop() would stop its first gateway again: this file's last gateway is f.gw.
  await f?.gw.stop();
  await Promise.all([f?.sshd.stop(), f?.issuer.stop()]);
  if (f) rmSync(f.dataDir, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("certificates across a restart, revoked, and tampered", () => {
  test("a certificate issued before a restart logs in after it; its record holds no token", async () => {
    const dir = join(work, "restart");
    const token = await f.token(HUMAN, ["sre"]);
    const serial = await login(token, dir);
    expect(await removesCanary(dir)).toBe(true);
    const file = recordFile(serial);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(f.dataDir, RECORDS_DIR)).mode & 0o777).toBe(0o700);
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.split(".")[2]!);
    expect(text).toContain(HUMAN);
    await restartGateway();
    expect(await removesCanary(dir)).toBe(true);
  }, 90_000);

  test("custos ssh revoke SERIAL stops that certificate only; --subject stops the rest", async () => {
    const a = join(work, "revoke-a");
    const b = join(work, "revoke-b");
    const serialA = await login(await f.token(OTHER, ["sre"]), a);
    const serialB = await login(await f.token(OTHER, ["sre"]), b);
    expect(await removesCanary(a)).toBe(true);
    const r = await revoke(serialA);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`revoked ${serialA}`);
    // The running gateway refuses it at once; the other certificate of the same subject still works.
    expect(await removesCanary(a)).toBe(false);
    expect(await removesCanary(b)).toBe(true);
    // Refused after a restart too.
    await restartGateway();
    expect(await removesCanary(a)).toBe(false);
    expect(await removesCanary(b)).toBe(true);
    const bySubject = await revoke("--subject", OTHER);
    expect(bySubject.code).toBe(0);
    expect(bySubject.stdout).toContain(`revoked ${serialB}`);
    expect(bySubject.stdout).not.toContain(`revoked ${serialA}`);
    expect(await removesCanary(b)).toBe(false);
    await withEvents(f, (events) => {
      const revoked = events.filter((e) => e.type === "ssh.certificate_revoked");
      expect(revoked.map((e) => e.data.serial).sort()).toEqual([serialA, serialB].sort());
      for (const e of revoked) {
        expect(e.data.subject).toBe(OTHER);
        expect(typeof (e.data.revoked_by as { user?: unknown }).user).toBe("string");
      }
      const refused = events.filter(
        (e) => e.type === "auth.failure" && String(e.data.message).includes(`serial ${serialA} was revoked`),
      );
      expect(refused.length).toBeGreaterThan(0);
    });
    // Bad input: an unknown serial and a malformed one are errors, nothing is written.
    expect((await revoke("12345")).code).toBe(1);
    expect((await revoke("not-a-serial")).code).toBe(2);
    expect((await revoke()).code).toBe(2);
  }, 120_000);

  test("an edited, re-serialled or garbled record refuses the login (fail closed)", async () => {
    const dir = join(work, "tamper");
    const serial = await login(await f.token(HUMAN, ["sre"]), dir);
    const file = recordFile(serial);
    const original = readFileSync(file, "utf8");
    const outer = JSON.parse(original) as { record: string; sig: string };
    const body = JSON.parse(outer.record);
    const variants: [string, string][] = [
      [
        "groups widened",
        JSON.stringify({
          ...outer,
          record: JSON.stringify({ ...body, identity: { ...body.identity, groups: ["sre", "admins"] } }),
        }),
      ],
      ["one byte appended", JSON.stringify({ ...outer, record: `${outer.record} ` })],
      [
        "signature of another record",
        JSON.stringify({ ...outer, sig: Buffer.alloc(64, 1).toString("base64") }),
      ],
      ["garbage", "{not json"],
      ["empty", ""],
    ];
    for (const [name, text] of variants) {
      writeFileSync(file, text, { mode: 0o600 });
      expect({ name, removed: await removesCanary(dir) }).toEqual({ name, removed: false });
    }
    // Another serial's valid record copied under this serial's name.
    const other = await login(await f.token(HUMAN, ["sre"]), join(work, "tamper-other"));
    writeFileSync(file, readFileSync(recordFile(other), "utf8"));
    expect(await removesCanary(dir)).toBe(false);
    // The look-alike: the record restored byte for byte logs in again.
    writeFileSync(file, original, { mode: 0o600 });
    expect(await removesCanary(dir)).toBe(true);
    expect(readdirSync(join(f.dataDir, RECORDS_DIR)).every((n) => n.endsWith(".json"))).toBe(true);
  }, 120_000);
});
