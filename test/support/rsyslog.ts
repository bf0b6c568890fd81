// rsyslog (Debian) as a real RFC 5424 receiver on loopback: one plain imtcp input and one over TLS
// (rsyslog-gnutls, anonymous client auth, a fresh self-signed server certificate), both writing every
// message to one file in RSYSLOG_SyslogProtocol23Format. Queues are Direct, so a message is in the file
// before rsyslog reads the next bytes. kill() is SIGKILL; start() again on the same ports.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

export interface Rsyslog {
  tcpPort: number;
  tlsPort: number;
  /** PEM of the server certificate (self-signed: it is its own CA). */
  ca: string;
  caFile: string;
  output: string;
  /** Every line rsyslog wrote so far. */
  lines(): string[];
  start(): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

function run(cmd: string[]): void {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString()}`);
}

export async function startRsyslog(): Promise<Rsyslog> {
  const dir = mkdtempSync(join(tmpdir(), "custos-rsyslog-"));
  mkdirSync(join(dir, "work"));
  const cert = join(dir, "server.pem");
  const key = join(dir, "server.key");
  run([
    "openssl",
    "req",
    "-new",
    "-x509",
    "-days",
    "2",
    "-nodes",
    "-newkey",
    "rsa:2048",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
    "-keyout",
    key,
    "-out",
    cert,
  ]);
  const tcpPort = await freePort();
  const tlsPort = await freePort();
  const output = join(dir, "received.log");
  const conf = join(dir, "rsyslog.conf");
  writeFileSync(
    conf,
    `global(workDirectory="${dir}/work" maxMessageSize="256k"
       defaultNetstreamDriverCAFile="${cert}" defaultNetstreamDriverCertFile="${cert}" defaultNetstreamDriverKeyFile="${key}")
main_queue(queue.type="Direct")
module(load="imtcp" maxSessions="200")
input(type="imtcp" address="127.0.0.1" port="${tcpPort}" ruleset="siem")
input(type="imtcp" address="127.0.0.1" port="${tlsPort}" ruleset="siem"
      streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
ruleset(name="siem" queue.type="Direct") {
  action(type="omfile" file="${output}" template="RSYSLOG_SyslogProtocol23Format" flushOnTXEnd="on" asyncWriting="off")
}
`,
  );
  run(["rsyslogd", "-N1", "-f", conf]);
  let proc: ReturnType<typeof Bun.spawn> | null = null;
  const pidFile = join(dir, "rsyslogd.pid");
  const listening = async (port: number) => {
    for (const until = Date.now() + 10_000; Date.now() < until; await Bun.sleep(50)) {
      const ok = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
        (s) => (s.end(), true),
        () => false,
      );
      if (ok) return;
    }
    throw new Error(`rsyslogd did not listen on ${port}`);
  };
  const r: Rsyslog = {
    tcpPort,
    tlsPort,
    ca: readFileSync(cert, "utf8"),
    caFile: cert,
    output,
    lines() {
      try {
        return readFileSync(output, "utf8")
          .split("\n")
          .filter((l) => l.length > 0);
      } catch {
        return [];
      }
    },
    async start() {
      rmSync(pidFile, { force: true });
      proc = Bun.spawn(["rsyslogd", "-n", "-f", conf, "-i", pidFile], { stdout: "ignore", stderr: "pipe" });
      await listening(tcpPort);
      await listening(tlsPort);
    },
    async kill() {
      proc?.kill("SIGKILL");
      await proc?.exited;
      proc = null;
    },
    async stop() {
      await r.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await r.start();
  return r;
}
