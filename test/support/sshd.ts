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

async function run(cmd: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
  const p = Bun.spawn(cmd, {
    stdout: "pipe",
    stderr: "pipe",
    stdin: input === undefined ? "ignore" : Buffer.from(input),
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { stdout, stderr, code };
}

/**
 * With `password`, sshd also takes that password for the test user: it runs in a private mount namespace
 * (unshare -m) where a copy of /etc/shadow holding the password's hash is bound over the real one, so
 * nothing outside that sshd sees it. Needs root (CAP_SYS_ADMIN); `passwordLoginPossible()` says whether.
 * With `x11`, sshd forwards X11 (xauth must be installed).
 */
export async function startSshd(opts: { password?: string; x11?: boolean } = {}): Promise<Sshd> {
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
      `PasswordAuthentication ${opts.password ? "yes" : "no"}`,
      "KbdInteractiveAuthentication no",
      `PermitRootLogin ${opts.password ? "yes" : "prohibit-password"}`,
      "AllowTcpForwarding yes",
      // X11 only where a suite asks for it: sshd then listens on localhost:6010+ and runs xauth.
      `X11Forwarding ${opts.x11 ? "yes" : "no"}`,
      "X11UseLocalhost yes",
      // sshd's xauth writes the session's cookie here, not into the test user's ~/.Xauthority.
      ...(opts.x11 ? [`SetEnv XAUTHORITY=${join(dir, "Xauthority")}`] : []),
      "AllowAgentForwarding yes",
      "PrintMotd no",
      "PrintLastLog no",
      "AcceptEnv LANG",
      "Subsystem sftp /usr/lib/openssh/sftp-server",
      "",
    ].join("\n"),
  );
  const sshd = ["/usr/sbin/sshd", "-f", config, "-E", join(dir, "sshd.log")];
  const r = opts.password ? await inPrivateShadow(dir, opts.password, sshd) : await run(sshd);
  if (r.code !== 0) throw new Error(`sshd: ${r.stderr}`);
  // The file can exist before sshd has written its pid: wait for a number. A pid of 0 would make stop()'s
  // kill(0) signal this whole process group (the test runner with it).
  let pid = 0;
  for (let i = 0; i < 250 && !(pid > 0); i++) {
    try {
      pid = Number(readFileSync(pidFile, "utf8").trim());
    } catch {}
    if (!(pid > 0)) await Bun.sleep(20);
  }
  if (!(pid > 0)) throw new Error(`sshd wrote no pid to ${pidFile}`);
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
        if (pid > 0) process.kill(pid, "SIGTERM");
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** True when this process may make a private mount namespace (root), which a password sshd needs. */
export async function passwordLoginPossible(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  return (await run(["unshare", "-m", "--propagation", "private", "true"])).code === 0;
}

/** Runs `cmd` (sshd, which daemonizes and stays there) where /etc/shadow gives the user `password`. */
async function inPrivateShadow(dir: string, password: string, cmd: string[]) {
  const user = (await run(["id", "-un"])).stdout.trim();
  const hashed = await run(["openssl", "passwd", "-6", "-stdin"], password);
  if (hashed.code !== 0) throw new Error(`openssl passwd: ${hashed.stderr}`);
  const hash = hashed.stdout.trim();
  const lines = readFileSync("/etc/shadow", "utf8")
    .split("\n")
    .filter((l) => l !== "");
  const entry = `${user}:${hash}:19000:0:99999:7:::`;
  const i = lines.findIndex((l) => l.startsWith(`${user}:`));
  if (i >= 0) lines[i] = entry;
  else lines.push(entry);
  const shadow = join(dir, "shadow");
  writeFileSync(shadow, `${lines.join("\n")}\n`, { mode: 0o600 });
  const script = 'mount --bind "$1" /etc/shadow && shift && exec "$@"';
  return run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", shadow, ...cmd]);
}
