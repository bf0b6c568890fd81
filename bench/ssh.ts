// SSH through the gateway against direct, with real OpenSSH clients and a real sshd (test/support/sshd.ts):
// the round trip of an exec on an open connection (ssh ControlMaster multiplexing, so each run is one new
// session channel: `true` decided, dialled-in upstream channel, exit status back), and SFTP put/get
// throughput of a 100 MB file. Usage: bun bench/ssh.ts [execs] [megabytes]
import { join } from "node:path";
import { startSshFixture, viaGateway } from "../test/ssh/support.ts";

const execs = Number(process.argv[2] ?? 200);
const mb = Number(process.argv[3] ?? 100);
const f = await startSshFixture();
const human = await f.token("bench@bank.example", ["sre"]);
const dir = f.sshd.dir;
const common = [
  "-o",
  "StrictHostKeyChecking=no",
  "-o",
  "UserKnownHostsFile=/dev/null",
  "-o",
  "LogLevel=ERROR",
];
const direct = ["-i", f.sshd.clientKeyFile, "-p", String(f.sshd.port), ...common, `${f.sshd.user}@127.0.0.1`];
const gateway = [
  "-p",
  String(f.sshPort),
  ...common,
  "-o",
  "PreferredAuthentications=password",
  "-o",
  "PubkeyAuthentication=no",
  "build-host@127.0.0.1",
];

async function run(cmd: string[], env: Record<string, string> = {}): Promise<number> {
  const p = Bun.spawn(cmd, {
    stdout: "ignore",
    stderr: "inherit",
    stdin: "ignore",
    env: { ...process.env, ...env },
  });
  return p.exited;
}

async function execRoundTrips(
  name: string,
  target: string[],
  env: Record<string, string>,
): Promise<number[]> {
  const control = join(dir, `cm-${name}`);
  const mux = ["-o", `ControlPath=${control}`];
  const master = Bun.spawn(["sshpass", "-e", "ssh", "-M", "-N", ...mux, ...target], {
    env: { ...process.env, ...env },
    stderr: "inherit",
  });
  for (let i = 0; i < 100 && !(await Bun.file(control).exists()); i++) await Bun.sleep(50);
  const times: number[] = [];
  for (let i = 0; i < execs; i++) {
    const t0 = performance.now();
    const code = await run(["ssh", ...mux, ...target, "true"]);
    if (code !== 0) throw new Error(`${name}: exec exited ${code}`);
    times.push(performance.now() - t0);
  }
  master.kill();
  await master.exited;
  return times.sort((a, b) => a - b);
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const d = await execRoundTrips("direct", direct, { SSHPASS: "unused" });
const g = await execRoundTrips("gateway", gateway, { SSHPASS: human });

await run(["sh", "-c", `head -c ${mb}M /dev/urandom > '${join(dir, "src.bin")}'`]);
const batch = (tag: string) => {
  const file = join(dir, `batch-${tag}`);
  Bun.write(
    file,
    `put ${join(dir, "src.bin")} ${join(dir, `up-${tag}.bin`)}\nget ${join(dir, `up-${tag}.bin`)} ${join(dir, `down-${tag}.bin`)}\n`,
  );
  return file;
};
async function sftpSeconds(tag: string, args: string[], env: Record<string, string>): Promise<number> {
  const file = batch(tag);
  await Bun.sleep(50);
  const t0 = performance.now();
  const code = await run(["sshpass", "-e", "sftp", ...args.slice(0, -1), "-b", file, args.at(-1)!], env);
  if (code !== 0) throw new Error(`${tag}: sftp exited ${code}`);
  return (performance.now() - t0) / 1000;
}
const sftpDirect = [
  "-i",
  f.sshd.clientKeyFile,
  "-P",
  String(f.sshd.port),
  ...common,
  "-o",
  "BatchMode=no",
  `${f.sshd.user}@127.0.0.1`,
];
const sftpGateway = [
  "-P",
  String(f.sshPort),
  ...common,
  "-o",
  "BatchMode=no",
  "-o",
  "PreferredAuthentications=password",
  "-o",
  "PubkeyAuthentication=no",
  "build-host@127.0.0.1",
];
const sd = await sftpSeconds("direct", sftpDirect, { SSHPASS: "unused" });
const sg = await sftpSeconds("gateway", sftpGateway, { SSHPASS: human });
const check = await viaGateway(f, human, "ssh", [
  `cmp ${join(dir, "src.bin")} ${join(dir, "down-gateway.bin")} && echo same`,
]);

console.log(
  `exec round trip (ssh -O mux, ${execs} runs of \`true\`), ms: direct p50 ${pct(d, 0.5).toFixed(1)} p99 ${pct(d, 0.99).toFixed(1)}; gateway p50 ${pct(g, 0.5).toFixed(1)} p99 ${pct(g, 0.99).toFixed(1)}; ratio p50 ${(pct(g, 0.5) / pct(d, 0.5)).toFixed(2)}`,
);
console.log(
  `sftp put+get ${mb} MB: direct ${sd.toFixed(1)} s (${((2 * mb) / sd).toFixed(1)} MB/s); gateway ${sg.toFixed(1)} s (${((2 * mb) / sg).toFixed(1)} MB/s); ratio ${(sd / sg).toFixed(2)} of direct throughput; copy ${check.stdout.trim()}`,
);
await f.stop();
