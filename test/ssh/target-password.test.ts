// The gateway logging in to the target with a password (target.password_file / password_env) against the
// real sshd, which takes that password only inside its own mount namespace (test/support/sshd.ts). Judged
// on the target's side: its log says which method it accepted; the password is in no byte the client
// saw, in no audit event and in no log line.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { passwordLoginPossible } from "../support/sshd.ts";
import { withEvents } from "./audit.ts";
import { type SshFixture, startSshFixture, viaGateway } from "./support.ts";

const PASSWORD = "Target-pw-7fd1c2e9";
const possible = await passwordLoginPossible();

const targetLog = (f: SshFixture) => readFileSync(join(f.sshd.dir, "sshd.log"), "utf8");

describe.skipIf(!possible)("target password login", () => {
  let fromFile: SshFixture;
  let fromEnv: SshFixture;
  let wrong: SshFixture;
  let token: string;

  beforeAll(async () => {
    const noKey = { private_key_file: undefined };
    [fromFile, fromEnv, wrong] = await Promise.all([
      startSshFixture({
        sshd: { password: PASSWORD },
        target: (sshd) => {
          const file = join(sshd.dir, "target-password");
          writeFileSync(file, `${PASSWORD}\n`, { mode: 0o600 });
          return { ...noKey, password_file: file };
        },
      }),
      startSshFixture({
        sshd: { password: PASSWORD },
        target: { ...noKey, password_env: "BUILD_HOST_PASSWORD" },
        env: { BUILD_HOST_PASSWORD: PASSWORD },
      }),
      startSshFixture({
        sshd: { password: PASSWORD },
        target: { ...noKey, password_env: "BUILD_HOST_PASSWORD" },
        env: { BUILD_HOST_PASSWORD: `${PASSWORD}x` },
      }),
    ]);
    token = await fromFile.token("dana@bank.example", ["sre"]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([fromFile?.stop(), fromEnv?.stop(), wrong?.stop()]);
  });

  test("password_file and password_env log in to the target with its password", async () => {
    for (const f of [fromFile, fromEnv]) {
      const t = await f.token("dana@bank.example", ["sre"]);
      const r = await viaGateway(f, t, "ssh", ["echo via-password; id -un"]);
      expect(r.stdout).toBe(`via-password\n${f.sshd.user}\n`);
      expect(r.code).toBe(0);
      expect(targetLog(f)).toMatch(new RegExp(`Accepted password for ${f.sshd.user} from 127\\.0\\.0\\.1`));
      expect(targetLog(f)).not.toMatch(/Accepted publickey/);
      expect(r.all).not.toContain(PASSWORD);
      expect(f.logs.join("\n")).not.toContain(PASSWORD);
      await withEvents(f, (events) => expect(JSON.stringify(events)).not.toContain(PASSWORD));
    }
  });

  test("a wrong target password is refused by the target, and the client is told in SSH's terms", async () => {
    const t = await wrong.token("dana@bank.example", ["sre"]);
    const r = await viaGateway(wrong, t, "ssh", ["echo should-not-run"]);
    expect(r.stdout).toBe("");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("refused the gateway's credential");
    expect(targetLog(wrong)).toMatch(/Failed password for/);
    expect(r.all).not.toContain(PASSWORD);
    await withEvents(wrong, (events) => expect(JSON.stringify(events)).not.toContain(PASSWORD));
    // The same token still works where the password is right: one connection's failure is its own.
    expect((await viaGateway(fromFile, token, "ssh", ["echo ok"])).stdout).toBe("ok\n");
  });
});
