// A real single-node Kubernetes cluster for the gateway's tests: Debian's etcd, kube-apiserver and kubelet
// of the pinned release (scripts/setup-kube builds them once into a version-keyed cache; this waits for
// that build, and fails loudly when it cannot finish), Debian's containerd + runc, and a busybox image
// built locally from busybox-static. Everything on loopback, free ports, a temp dir; stopped by PID.
//
// Requirements found on this kind of machine (/work/shared/HARNESS.md): the apiserver needs
// --endpoint-reconciler-type=none with a loopback advertise address and
// --kubelet-preferred-address-types=Hostname; containerd needs restrict_oom_score_adj; the kubelet needs
// failCgroupV1: false and cgroupsPerQOS: false; pods run with hostNetwork and local images. No
// controller-manager or scheduler runs: pods name their node, and ServiceAccount admission is off.

import { lookup } from "node:dns/promises";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess, spawn, spawnSync } from "bun";
import { freePort } from "./free-port.ts";

const ROOT = join(import.meta.dir, "../..");

export const IMAGE = "custos.local/busybox:1";
const PAUSE_IMAGE = "custos.local/pause:1";

export interface KubeCluster {
  dir: string;
  bin: string;
  server: string;
  /** PEM of the CA that signs the apiserver's serving certificate. */
  ca: string;
  caFile: string;
  /** Tokens in the apiserver's token file. */
  tokens: { admin: string; gateway: string };
  /** The node's name (the machine's hostname, which the apiserver dials for exec/logs). */
  node: string;
  /** kubectl as the cluster admin, directly against the apiserver (for set-up and for checking effects). */
  admin(args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }>;
  /** The apiserver's audit log, one event per line. */
  auditEvents(): Record<string, unknown>[];
  stop(): Promise<void>;
}

/** The cached binaries, building them first if needed (the first run takes about 20 minutes). */
export function kubeBinaries(): string {
  const r = spawnSync(["sh", join(ROOT, "scripts/setup-kube")], { stdout: "pipe", stderr: "inherit" });
  const bin = r.stdout.toString().trim();
  if (r.exitCode !== 0 || !bin || !existsSync(join(bin, "kube-apiserver")))
    throw new Error(
      `scripts/setup-kube failed (exit ${r.exitCode}): the Kubernetes binaries could not be built`,
    );
  for (const tool of ["etcd", "containerd", "runc", "ctr"])
    if (spawnSync(["sh", "-c", `command -v ${tool}`]).exitCode !== 0)
      throw new Error(`${tool} is missing: run scripts/setup-test-deps`);
  return bin;
}

async function waitFor(what: string, ms: number, check: () => Promise<boolean> | boolean, proc?: Subprocess) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {}
    if (proc && proc.exitCode !== null) throw new Error(`${what}: the process exited (${proc.exitCode})`);
    if (Date.now() > until) throw new Error(`${what} did not come up within ${ms} ms`);
    await Bun.sleep(250);
  }
}

function run(cmd: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(cmd, { stdout: "pipe", stderr: "pipe", cwd: opts.cwd });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** A docker-archive image of busybox-static (ctr imports it): /bin/busybox plus its applet links. */
export function buildImage(dir: string, name: string, cmd: string[]): string {
  const root = join(dir, "rootfs");
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, "bin"), { recursive: true });
  for (const d of ["tmp", "proc", "sys", "dev", "etc", "www"]) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, "bin/busybox"), readFileSync("/bin/busybox"));
  chmodSync(join(root, "bin/busybox"), 0o755);
  for (const applet of [
    "sh",
    "sleep",
    "cat",
    "echo",
    "ls",
    "id",
    "env",
    "nc",
    "httpd",
    "printf",
    "head",
    "tr",
    "wc",
    "hostname",
    "seq",
  ])
    symlinkSync("busybox", join(root, "bin", applet));
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/:/bin/sh\n");
  writeFileSync(join(root, "www/index.html"), "custos port-forward canary\n");
  const work = join(dir, "image");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  run(["tar", "-C", root, "-cf", join(work, "layer.tar"), "."]);
  const diffId = `sha256:${new Bun.CryptoHasher("sha256").update(readFileSync(join(work, "layer.tar"))).digest("hex")}`;
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Cmd: cmd, Env: ["PATH=/bin"] },
    rootfs: { type: "layers", diff_ids: [diffId] },
  });
  const configName = `${new Bun.CryptoHasher("sha256").update(config).digest("hex")}.json`;
  writeFileSync(join(work, configName), config);
  writeFileSync(
    join(work, "manifest.json"),
    JSON.stringify([{ Config: configName, RepoTags: [name], Layers: ["layer.tar"] }]),
  );
  const out = join(dir, `${name.replace(/[/:]/g, "_")}.tar`);
  run(["tar", "-C", work, "-cf", out, "manifest.json", configName, "layer.tar"]);
  return out;
}

/**
 * containerd's shims (and the containers under them) outlive containerd: found by their socket address,
 * which names our temp dir, and killed by PID with their descendants.
 */
function killLeftovers(dir: string): void {
  const parents = new Map<number, number>();
  const shims: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      parents.set(pid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)) shims.push(pid);
    } catch {}
  }
  const doomed = new Set(shims);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parents)
      if (doomed.has(ppid) && !doomed.has(pid)) {
        doomed.add(pid);
        grew = true;
      }
  }
  for (const pid of doomed) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
}

export async function startKubeCluster(): Promise<KubeCluster> {
  const bin = kubeBinaries();
  const dir = mkdtempSync(join(tmpdir(), "custos-k8s-"));
  const procs: Subprocess[] = [];
  const log = (name: string) => Bun.file(join(dir, `${name}.log`));
  const start = (name: string, cmd: string[]) => {
    const p = spawn(cmd, { stdout: log(name), stderr: log(`${name}.err`), cwd: dir });
    procs.push(p);
    return p;
  };
  // The apiserver dials the node by its Hostname address (exec, logs, port-forward), and the kubelet
  // listens on loopback only: the machine's name when it resolves there, else "localhost". (No --node-ip:
  // the kubelet refuses a loopback node IP and then reports no addresses at all.)
  const own = hostname().toLowerCase();
  const node = (await lookup(own).catch(() => ({ address: "" }))).address.startsWith("127.")
    ? own
    : "localhost";
  try {
    // etcd
    const etcdPort = await freePort();
    const etcdPeer = await freePort();
    const etcd = start("etcd", [
      "etcd",
      "--name=custos",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=custos=http://127.0.0.1:${etcdPeer}`,
    ]);
    await waitFor("etcd", 30_000, async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok, etcd);

    // kube-apiserver: token identities, service-account keys, an audit log of every request.
    const tokens = {
      admin: `admin-${crypto.randomUUID()}`,
      gateway: `gateway-${crypto.randomUUID()}`,
    };
    writeFileSync(
      join(dir, "tokens.csv"),
      `${tokens.admin},admin,1,"system:masters"\n${tokens.gateway},custos-gateway,2,"system:masters"\n`,
    );
    run(["openssl", "genrsa", "-out", join(dir, "sa.key"), "2048"]);
    run(["openssl", "rsa", "-in", join(dir, "sa.key"), "-pubout", "-out", join(dir, "sa.pub")]);
    writeFileSync(
      join(dir, "audit-policy.yaml"),
      "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  - level: Metadata\n",
    );
    const apiPort = await freePort();
    const certDir = join(dir, "certs");
    const apiserver = start("apiserver", [
      join(bin, "kube-apiserver"),
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--cert-dir=${certDir}`,
      `--token-auth-file=${join(dir, "tokens.csv")}`,
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.96.0.0/24",
      "--endpoint-reconciler-type=none",
      "--kubelet-preferred-address-types=Hostname",
      `--service-account-key-file=${join(dir, "sa.pub")}`,
      `--service-account-signing-key-file=${join(dir, "sa.key")}`,
      "--service-account-issuer=https://kubernetes.default.svc",
      "--disable-admission-plugins=ServiceAccount",
      `--audit-policy-file=${join(dir, "audit-policy.yaml")}`,
      `--audit-log-path=${join(dir, "audit.log")}`,
      "--audit-log-mode=blocking",
      "--enable-priority-and-fairness=false",
      // Debian's etcd 3.4 does not give the watch cache the progress notifications it waits on (a watch
      // without resourceVersion then times out "Too large resource version"): watches read etcd directly.
      "--watch-cache=false",
    ]);
    const server = `https://127.0.0.1:${apiPort}`;
    await waitFor(
      "kube-apiserver certificate",
      60_000,
      () => existsSync(join(certDir, "apiserver.crt")),
      apiserver,
    );
    // The serving certificate is self-signed by a CA the apiserver makes at start: the second PEM block.
    const pems = readFileSync(join(certDir, "apiserver.crt"), "utf8").match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
    )!;
    const ca = `${pems[pems.length - 1]}\n`;
    const caFile = join(dir, "cluster-ca.pem");
    writeFileSync(caFile, ca);
    await waitFor(
      "kube-apiserver /readyz",
      90_000,
      async () =>
        (
          await fetch(`${server}/readyz`, {
            headers: { authorization: `Bearer ${tokens.admin}` },
            tls: { ca },
          })
        ).ok,
      apiserver,
    );
    const adminKubeconfig = join(dir, "admin.kubeconfig");
    writeFileSync(
      adminKubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${server}", certificate-authority: "${caFile}"}}]
users: [{name: admin, user: {token: "${tokens.admin}"}}]
contexts: [{name: c, context: {cluster: c, user: admin}}]
current-context: c
`,
    );
    const admin = async (args: string[], input?: string) => {
      const p = spawn([join(bin, "kubectl"), `--kubeconfig=${adminKubeconfig}`, ...args], {
        stdin: input === undefined ? "ignore" : Buffer.from(input),
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, stderr, code] = await Promise.all([
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
        p.exited,
      ]);
      return { stdout, stderr, code };
    };

    // containerd with the CRI plugin, its own root/state/socket, the local pause image as the sandbox.
    const sock = join(dir, "containerd.sock");
    writeFileSync(
      join(dir, "containerd.toml"),
      `version = 2
root = "${join(dir, "containerd-root")}"
state = "${join(dir, "containerd-state")}"
[grpc]
  address = "${sock}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
`,
    );
    const containerd = start("containerd", ["containerd", "--config", join(dir, "containerd.toml")]);
    await waitFor("containerd", 30_000, () => existsSync(sock), containerd);
    for (const [name, cmd] of [
      [IMAGE, ["/bin/sh"]],
      [PAUSE_IMAGE, ["/bin/sleep", "2147483647"]],
    ] as const) {
      const tar = buildImage(dir, name, [...cmd]);
      run(["ctr", "--address", sock, "-n", "k8s.io", "images", "import", "--snapshotter", "native", tar]);
    }

    // kubelet: anonymous + AlwaysAllow on loopback, cgroupfs, no QoS cgroups.
    const kubeletPort = await freePort();
    const kubeletKubeconfig = join(dir, "kubelet.kubeconfig");
    writeFileSync(kubeletKubeconfig, readFileSync(adminKubeconfig));
    writeFileSync(
      join(dir, "kubelet.yaml"),
      `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: ${kubeletPort}
readOnlyPort: 0
healthzPort: 0
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://${sock}
imageServiceEndpoint: unix://${sock}
evictionHard: {memory.available: "1Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
localStorageCapacityIsolation: false
resolvConf: ""
`,
    );
    const kubeletRoot = join(dir, "kubelet");
    const kubelet = start("kubelet", [
      join(bin, "kubelet"),
      `--kubeconfig=${kubeletKubeconfig}`,
      `--config=${join(dir, "kubelet.yaml")}`,
      `--root-dir=${kubeletRoot}`,
      `--cert-dir=${join(dir, "kubelet-pki")}`,
      `--hostname-override=${node}`,
    ]);
    await waitFor(
      "the kubelet's node",
      120_000,
      async () => (await admin(["get", "node", node, "-o", "name"])).code === 0,
      kubelet,
    );

    const stop = async () => {
      for (const p of [...procs].reverse()) {
        p.kill("SIGTERM");
        const timer = setTimeout(() => p.kill("SIGKILL"), 5000);
        await p.exited;
        clearTimeout(timer);
      }
      // The kubelet leaves pod volumes and its root mounted; containerd leaves shim processes.
      spawnSync(["sh", "-c", `grep ' ${dir}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r umount -l`]);
      killLeftovers(dir);
      rmSync(dir, { recursive: true, force: true });
    };
    return {
      dir,
      bin,
      server,
      ca,
      caFile,
      tokens,
      node,
      admin,
      auditEvents: () =>
        readFileSync(join(dir, "audit.log"), "utf8")
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      stop,
    };
  } catch (err) {
    for (const p of procs) p.kill("SIGKILL");
    const tail = (n: string) => {
      try {
        return readFileSync(join(dir, `${n}.log.err`), "utf8").slice(-3000);
      } catch {
        return "";
      }
    };
    const detail = ["apiserver", "kubelet", "containerd", "etcd"]
      .map((n) => `--- ${n}\n${tail(n)}`)
      .join("\n");
    spawnSync(["sh", "-c", `grep ' ${dir}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r umount -l`]);
    throw new Error(`${(err as Error).message}\n${detail}`);
  }
}
