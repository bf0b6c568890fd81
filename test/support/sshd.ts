// A real OpenSSH server for the SSH tests (HARNESS.md): its own sshd_config, host key and authorized key
// on a free loopback port, logging in as the user running the tests. Started with an absolute -f path
// (sshd re-execs after chdir("/")), stopped by PID.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

export interface Sshd {
  host: string;
  port: number;
  user: string;
  dir: string;
  /** The client key the gateway holds for the target (OpenSSH private key file). */
  clientKeyFile: string;
  /** The server's host key line (`ssh-ed25519 AAAA…`). */
  hostKey: string;
  /** A second, different host key line: what a changed target would present. */
  otherHostKey: string;
  /** Runs a command on the target directly (no gateway), for setting fixtures and checking effects. */
  direct(command: string): Promise<{ stdout: string; stderr: string; code: number }>;
  stop(): Promise<void>;
}

async function run(cmd: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { stdout, stderr, code };
}

export async function startSshd(): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), "custos-sshd-"));
  mkdirSync("/run/sshd", { recursive: true });
  const hostKeyFile = join(dir, "host_ed25519");
  const otherKeyFile = join(dir, "other_ed25519");
  const clientKeyFile = join(dir, "client_ed25519");
  for (const f of [hostKeyFile, otherKeyFile, clientKeyFile]) {
    const r = await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f]);
    if (r.code !== 0) throw new Error(`ssh-keygen: ${r.stderr}`);
  }
  const auth = join(dir, "authorized_keys");
  writeFileSync(auth, readFileSync(`${clientKeyFile}.pub`), { mode: 0o600 });
  const port = await freePort();
  const pidFile = join(dir, "sshd.pid");
  const config = join(dir, "sshd_config");
  writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKeyFile}`,
      `PidFile ${pidFile}`,
      `AuthorizedKeysFile ${auth}`,
      "UsePAM no",
      "StrictModes no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "AllowTcpForwarding yes",
      "X11Forwarding no",
      "PrintMotd no",
      "PrintLastLog no",
      "AcceptEnv LANG",
      "Subsystem sftp /usr/lib/openssh/sftp-server",
      "",
    ].join("\n"),
  );
  const r = await run(["/usr/sbin/sshd", "-f", config, "-E", join(dir, "sshd.log")]);
  if (r.code !== 0) throw new Error(`sshd: ${r.stderr}`);
  for (let i = 0; i < 100; i++) {
    try {
      readFileSync(pidFile, "utf8");
      break;
    } catch {
      await Bun.sleep(20);
    }
  }
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  const line = (f: string) => readFileSync(`${f}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  // os.userInfo() names uid 0 "unknown" under Bun: ask id(1).
  const user = (await run(["id", "-un"])).stdout.trim();
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${line(hostKeyFile)}\n`);
  return {
    host: "127.0.0.1",
    port,
    user,
    dir,
    clientKeyFile,
    hostKey: line(hostKeyFile),
    otherHostKey: line(otherKeyFile),
    direct: (command) =>
      run([
        "ssh",
        "-i",
        clientKeyFile,
        "-p",
        String(port),
        "-o",
        `UserKnownHostsFile=${knownHosts}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        `${user}@127.0.0.1`,
        command,
      ]),
    async stop() {
      try {
        process.kill(pid, "SIGTERM");
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
