// OpenSSH user certificates from `custos ssh login`, used by the real `ssh` client against the real sshd
// behind the gateway. Judged by effect: every forged certificate tries to remove a canary file as a human
// (whose `rm` the policy allows), and the canary is read directly; look-alikes made with ssh-keygen and the
// gateway's own CA key (same serial, key and principal) must succeed, so the checks decide, not byte equality.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CA_KEY_FILE } from "../../src/protocols/ssh/cert-authority.ts";
import { parseUserCertificate } from "../../src/protocols/ssh/cert-codec.ts";
import { withEvents } from "./audit.ts";
import { run } from "./processes.ts";
import { type SshFixture, startSshFixture } from "./support.ts";

let f: SshFixture;
let work: string;
let canary: string;
const CANARY = "canary: untouched\n";
const HUMAN = "dana@bank.example";

const custos = (...args: string[]) => run(["./custos", ...args]);

async function login(token: string, out: string, ...extra: string[]) {
  const r = await custos(
    "ssh",
    "login",
    "--token",
    token,
    "--gateway",
    `http://127.0.0.1:${f.httpPort}`,
    "--out",
    out,
    ...extra,
  );
  if (r.code !== 0) throw new Error(`ssh login: ${r.stderr}`);
  return r;
}

/** Real ssh with only this key and certificate, publickey only, the gateway's host key pinned. */
function sshWith(dir: string, cert: string, command: string, user = "build-host") {
  return run([
    "ssh",
    "-p",
    String(f.sshPort),
    "-i",
    join(dir, "id_ed25519"),
    "-o",
    `CertificateFile=${cert}`,
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
    `${user}@127.0.0.1`,
    command,
  ]);
}

function certOf(dir: string) {
  const line = readFileSync(join(dir, "id_ed25519-cert.pub"), "utf8").trim();
  return parseUserCertificate(Buffer.from(line.split(" ")[1]!, "base64"));
}

/** ssh-keygen signs the key in `dir` with `caKey`; returns the certificate file. */
async function forge(dir: string, caKey: string, name: string, args: string[]): Promise<string> {
  const key = join(dir, `${name}.pub`);
  writeFileSync(key, readFileSync(join(dir, "id_ed25519.pub")));
  const r = await run(["ssh-keygen", "-q", "-s", caKey, "-I", `custos:${HUMAN}`, ...args, key]);
  if (r.code !== 0) throw new Error(`ssh-keygen: ${r.stderr}`);
  return join(dir, `${name}-cert.pub`);
}

const untouched = () => existsSync(canary) && readFileSync(canary, "utf8") === CANARY;

beforeAll(async () => {
  f = await startSshFixture();
  work = mkdtempSync(join(tmpdir(), "custos-ssh-cert-"));
  canary = join(work, "canary.txt");
}, 60_000);

afterAll(async () => {
  await f?.stop();
});

describe("ssh certificates", () => {
  test("custos ssh login writes a key and certificate the real ssh client logs in with", async () => {
    const dir = join(work, "human");
    const r = await login(await f.token(HUMAN, ["sre"]), dir);
    const line = r.stdout.trim();
    expect(line).toContain(`-p ${f.sshPort} build-host@127.0.0.1`);
    expect(line).toContain(`CertificateFile=${join(dir, "id_ed25519-cert.pub")}`);
    expect(readFileSync(join(dir, "id_ed25519")).length > 0).toBe(true);
    const { statSync } = await import("node:fs");
    expect(statSync(join(dir, "id_ed25519")).mode & 0o777).toBe(0o600);
    const cert = certOf(dir);
    expect(cert.principals).toEqual([HUMAN]);
    expect(cert.keyId).toBe(`custos:${HUMAN}`);
    expect([...cert.extensions.keys()]).toEqual(["permit-pty"]);
    expect(cert.criticalOptions.size).toBe(0);
    // valid until the token's expiry (30 minutes in the fixture), not longer.
    const left = Number(cert.validBefore) - Date.now() / 1000;
    expect(left).toBeGreaterThan(25 * 60);
    expect(left).toBeLessThanOrEqual(30 * 60 + 5);
    // OpenSSH itself reads it as a user certificate signed by the gateway's CA.
    const shown = await run(["ssh-keygen", "-L", "-f", join(dir, "id_ed25519-cert.pub")]);
    expect(shown.stdout).toContain("user certificate");
    expect(shown.stdout).toContain(HUMAN);
    // The printed line, run as printed (plus a command).
    const args = line.split(" ").slice(1);
    const ran = await run(["ssh", "-o", "BatchMode=yes", ...args, "echo hello; id -un"]);
    expect(ran.stderr).toBe("");
    expect(ran.stdout).toBe(`hello\n${f.sshd.user}\n`);
    await withEvents(f, (events) => {
      const issued = events.find((e) => e.type === "ssh.certificate_issued");
      expect(issued?.data).toMatchObject({ principal: HUMAN, serial: cert.serial.toString() });
      const starts = events.filter(
        (e) => e.type === "session.start" && JSON.stringify(e.data).includes("build-host"),
      );
      expect(JSON.stringify(starts)).toContain(HUMAN);
    });
  });

  test("custos ssh ca prints the host key the client pinned and the CA that signed the certificate", async () => {
    const r = await custos("ssh", "ca", "--gateway", `http://127.0.0.1:${f.httpPort}`);
    expect(r.code).toBe(0);
    const [hostLine, caLine] = r.stdout.trim().split("\n");
    expect(`${hostLine}\n`).toBe(readFileSync(join(work, "human", "known_hosts"), "utf8"));
    const caPub = readFileSync(join(f.dataDir, `${CA_KEY_FILE}.pub`), "utf8")
      .split(" ")
      .slice(0, 2)
      .join(" ");
    expect(caLine).toBe(`cert-authority ${caPub} custos-ssh-user-ca`);
  });

  test("an agent's certificate carries the agent's groups from the token: policy still applies", async () => {
    const dir = join(work, "agent");
    await login(await f.token("agent-7@bank.example", ["agents"]), dir);
    writeFileSync(canary, CANARY);
    // An interpreter is on the denied list: refused at once (a plain rm would wait for an approval).
    const denied = await sshWith(dir, join(dir, "id_ed25519-cert.pub"), `sh -c "rm -f ${canary}"`);
    expect(denied.code).toBe(126);
    expect(untouched()).toBe(true);
    const ok = await sshWith(dir, join(dir, "id_ed25519-cert.pub"), `cat ${canary}`);
    expect(ok.stdout).toBe(CANARY);
  });

  test("forged, expired, foreign and tampered certificates open nothing; ssh-keygen look-alikes do", async () => {
    const dir = join(work, "forge");
    await login(await f.token(HUMAN, ["sre"]), dir);
    const serial = certOf(dir).serial.toString();
    const realCa = join(f.dataDir, CA_KEY_FILE);
    const otherCa = join(work, "other_ca");
    await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", otherCa]);
    // A tampered certificate: one byte of the principal changed, the CA's signature kept.
    const good = readFileSync(join(dir, "id_ed25519-cert.pub"), "utf8").split(" ");
    const blob = Buffer.from(good[1]!, "base64");
    const at = blob.indexOf(Buffer.from(HUMAN));
    blob[at] = "e".charCodeAt(0);
    const tampered = join(dir, "tampered-cert.pub");
    writeFileSync(tampered, `${good[0]} ${blob.toString("base64")}\n`);
    const attacks: Record<string, string> = {
      tampered,
      "other CA": await forge(dir, otherCa, "other", ["-n", HUMAN, "-z", serial, "-V", "-5m:+1h"]),
      expired: await forge(dir, realCa, "expired", ["-n", HUMAN, "-z", serial, "-V", "-2h:-1h"]),
      "not yet valid": await forge(dir, realCa, "future", ["-n", HUMAN, "-z", serial, "-V", "+1h:+2h"]),
      "never issued (or revoked) serial": await forge(dir, realCa, "unissued", [
        "-n",
        HUMAN,
        "-z",
        "4242",
        "-V",
        "-5m:+1h",
      ]),
      "another principal": await forge(dir, realCa, "root", ["-n", "root", "-z", serial, "-V", "-5m:+1h"]),
      "any principal": await forge(dir, realCa, "anyone", ["-z", serial, "-V", "-5m:+1h"]),
      "a critical option": await forge(dir, realCa, "forced", [
        "-n",
        HUMAN,
        "-z",
        serial,
        "-V",
        "-5m:+1h",
        "-O",
        "source-address=127.0.0.1",
      ]),
    };
    const hostCert = await forge(dir, realCa, "host", ["-h", "-n", HUMAN, "-z", serial, "-V", "-5m:+1h"]);
    for (const [name, cert] of Object.entries(attacks)) {
      writeFileSync(canary, CANARY);
      const r = await sshWith(dir, cert, `rm -f ${canary}`);
      expect({ name, code: r.code }).toEqual({ name, code: 255 });
      expect({ name, untouched: untouched() }).toEqual({ name, untouched: true });
    }
    // A client that sends what OpenSSH's would not: the tampered certificate, and the real certificate
    // signed for by another private key.
    const paramiko = (key: string, cert: string, command: string) =>
      run([
        "/usr/bin/python3",
        join(import.meta.dir, "cert-login.py"),
        String(f.sshPort),
        key,
        cert,
        command,
      ]);
    const otherKey = join(work, "other_user_key");
    await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", otherKey]);
    for (const [key, cert] of [
      [join(dir, "id_ed25519"), tampered],
      [otherKey, join(dir, "id_ed25519-cert.pub")],
      [join(dir, "id_ed25519"), hostCert],
    ] as const) {
      writeFileSync(canary, CANARY);
      const r = await paramiko(key, cert, `rm -f ${canary}`);
      expect({ cert, out: r.stdout }).toEqual({ cert, out: "refused\n" });
      expect(untouched()).toBe(true);
    }
    expect(
      (await paramiko(join(dir, "id_ed25519"), join(dir, "id_ed25519-cert.pub"), "echo ok")).stdout,
    ).toBe("ok\n");
    // Look-alikes: the gateway's CA, the issued serial, key and principal, with or without extensions.
    const lookAlikes = [
      await forge(dir, realCa, "same", ["-n", HUMAN, "-z", serial, "-V", "-5m:+1h"]),
      await forge(dir, realCa, "two", ["-n", `root,${HUMAN}`, "-z", serial, "-V", "-5m:+1h", "-O", "clear"]),
      join(dir, "id_ed25519-cert.pub"),
    ];
    for (const cert of lookAlikes) {
      const r = await sshWith(dir, cert, "echo ok");
      expect({ cert, out: r.stdout }).toEqual({ cert, out: "ok\n" });
    }
    await withEvents(f, (events) => {
      const reasons = events
        .filter(
          (e) =>
            e.type === "auth.failure" &&
            String((e.data as { message?: unknown }).message).startsWith("SSH certificate"),
        )
        .map((e) => String((e.data as { message?: unknown }).message));
      for (const why of [
        "CA signature does not verify",
        "not signed by this gateway's CA",
        "has expired",
        "not valid yet",
        "is not a live certificate",
        "does not name its subject",
        "names no principal",
        "critical options are not supported",
        "not a user certificate",
        "session signature does not verify",
      ])
        expect({ why, seen: reasons.some((r) => r.includes(why)) }).toEqual({ why, seen: true });
    });
  }, 120_000);

  test("--connection binds the certificate to that connection; an unknown one gets none", async () => {
    const dir = join(work, "bound");
    const r = await login(await f.token(HUMAN, ["sre"]), dir, "--connection", "build-host");
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect((await sshWith(dir, join(dir, "id_ed25519-cert.pub"), "echo ok")).stdout).toBe("ok\n");
    const elsewhere = await sshWith(dir, join(dir, "id_ed25519-cert.pub"), "echo ok", "other-host");
    expect(elsewhere.code).toBe(255);
    await withEvents(f, (events) => {
      const why = events
        .filter((e) => e.type === "auth.failure")
        .map((e) => String((e.data as { message?: unknown }).message));
      expect(why.some((m) => m.includes('was issued for connection "build-host"'))).toBe(true);
    });
    const unknown = await custos(
      "ssh",
      "login",
      "--token",
      await f.token(HUMAN, ["sre"]),
      "--gateway",
      `http://127.0.0.1:${f.httpPort}`,
      "--out",
      join(work, "unknown"),
      "--connection",
      "no-such-host",
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("access.unknown_connection");
  }, 60_000);

  test("the certificate ends with its token; a bad token or a foreign key gets none", async () => {
    const dir = join(work, "short");
    const short = await f.issuer.mint(
      { iss: f.issuer.issuer, sub: HUMAN, aud: "custos", groups: ["sre"] },
      { expiresIn: "15s" },
    );
    await login(short, dir);
    expect((await sshWith(dir, join(dir, "id_ed25519-cert.pub"), "echo ok")).stdout).toBe("ok\n");
    // Past the certificate's valid-before, which is the token's expiry.
    await Bun.sleep(Math.max(0, Number(certOf(dir).validBefore) * 1000 - Date.now()) + 1000);
    writeFileSync(canary, CANARY);
    const late = await sshWith(dir, join(dir, "id_ed25519-cert.pub"), `rm -f ${canary}`);
    expect(late.code).toBe(255);
    expect(untouched()).toBe(true);
    const bad = await custos(
      "ssh",
      "login",
      "--token",
      "not-a-token",
      "--gateway",
      `http://127.0.0.1:${f.httpPort}`,
      "--out",
      join(work, "bad"),
    );
    expect(bad.code).toBe(1);
    expect(existsSync(join(work, "bad", "id_ed25519-cert.pub"))).toBe(false);
    const nobody = await custos(
      "ssh",
      "login",
      "--token",
      await f.token("eve@bank.example", ["interns"]),
      "--gateway",
      `http://127.0.0.1:${f.httpPort}`,
      "--out",
      join(work, "eve"),
    );
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain("access.forbidden");
  }, 60_000);
});
