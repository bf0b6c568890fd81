// deploy/kubernetes/: the objects' shape, the pod's security settings and probes, ports against the
// ConfigMap's custos.yaml, which itself goes through the real loader with the env the pod provides;
// Secret references against deploy/README.md; the key-seeding init script run for real.
import { afterAll, expect, test } from "bun:test";
import { readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { loadOrCreateConsoleKey } from "../../src/api/admin/console-key.ts";
import { loadConfig } from "../../src/config/load.ts";
import { loadOrCreateGatewayKey } from "../../src/identity/gateway-key.ts";
import { loadOrCreateTlsMaterial } from "../../src/net/tls-material.ts";
import {
  certificate,
  DEPLOY,
  findManifest,
  K8S,
  type Manifest,
  manifests,
  readYamlDocs,
  scratch,
} from "./support.ts";

const sts = findManifest("StatefulSet", "custos");
const pod = sts.spec.template.spec as Manifest;
const main = (pod.containers as Manifest[]).find((c) => c.name === "custos")!;
const allContainers = [...(pod.initContainers ?? []), ...pod.containers] as Manifest[];
const CUSTOS_YAML = findManifest("ConfigMap", "custos-config").data["custos.yaml"] as string;
const README = readFileSync(join(DEPLOY, "README.md"), "utf8");
const tree = scratch("custos-deploy-k8s-");
afterAll(() => rmSync(tree.dir, { recursive: true, force: true }));

test("every document has apiVersion, kind and metadata.name, and no namespace", () => {
  const all = manifests();
  expect(all.map((m) => m.doc.kind).sort()).toEqual([
    "ConfigMap",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "Service",
    "Service",
    "ServiceAccount",
    "ServiceMonitor",
    "StatefulSet",
  ]);
  for (const { file, doc } of all) {
    expect(typeof doc.apiVersion, file).toBe("string");
    expect(typeof doc.kind, file).toBe("string");
    expect(doc.metadata?.name, file).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(doc.metadata?.namespace, file).toBeUndefined();
  }
  const kustomization = readYamlDocs("deploy/kubernetes/kustomization.yaml")[0] as Manifest;
  expect(kustomization.namespace).toBeUndefined();
  const listed = new Set(kustomization.resources as string[]);
  for (const { file } of all) {
    const name = file.slice("deploy/kubernetes/".length);
    expect(listed.has(name), name).toBe(name !== "servicemonitor.yaml");
  }
});

test("no Secret objects and no inline secret values", () => {
  expect(manifests().some((m) => m.doc.kind === "Secret")).toBe(false);
  for (const c of allContainers) {
    for (const e of (c.env ?? []) as Manifest[]) {
      if (/PASSWORD|SECRET|TOKEN|KEY|URL/.test(e.name) && e.name !== "CUSTOS_HEALTHZ_URL") {
        expect(e.value, e.name).toBeUndefined();
        expect(e.valueFrom?.secretKeyRef, e.name).toBeDefined();
      }
    }
  }
  expect(CUSTOS_YAML).not.toMatch(/:\/\/[^/\s]*:[^/\s]*@/);
});

test("containers run as non-root with a read-only root and no privilege escalation", () => {
  expect(pod.securityContext.runAsNonRoot).toBe(true);
  expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
  expect(pod.securityContext.seccompProfile.type).toBe("RuntimeDefault");
  expect(pod.securityContext.fsGroupChangePolicy).toBe("OnRootMismatch");
  expect(pod.automountServiceAccountToken).toBe(false);
  for (const c of allContainers) {
    const sc = c.securityContext as Manifest;
    expect(sc.runAsNonRoot, c.name).toBe(true);
    expect(sc.runAsUser, c.name).toBeGreaterThan(0);
    expect(sc.readOnlyRootFilesystem, c.name).toBe(true);
    expect(sc.allowPrivilegeEscalation, c.name).toBe(false);
    expect(sc.privileged ?? false, c.name).toBe(false);
    expect(sc.capabilities.drop, c.name).toEqual(["ALL"]);
    expect(sc.capabilities.add, c.name).toBeUndefined();
    expect(c.resources?.limits?.memory, c.name).toBeDefined();
  }
  // Secret files readable by the owner and fsGroup only, written in decimal (a leading 0 is octal to
  // YAML 1.1, which Kubernetes uses, and decimal to YAML 1.2).
  for (const v of pod.volumes as Manifest[]) {
    if (v.secret) expect(v.secret.defaultMode, v.name).toBe(0o440);
  }
  // The Dockerfile's user is the pod's.
  const dockerUser = /^USER (\d+):(\d+)$/m.exec(readFileSync(join(DEPLOY, "Dockerfile"), "utf8"));
  expect([Number(dockerUser?.[1]), Number(dockerUser?.[2])]).toEqual([
    pod.securityContext.runAsUser,
    pod.securityContext.runAsGroup,
  ]);
});

test("ports and probes match the listen addresses of the ConfigMap's custos.yaml", () => {
  const listen = parse(CUSTOS_YAML).listen as { postgres: string; http: string };
  const port = (addr: string) => Number(addr.slice(addr.lastIndexOf(":") + 1));
  const ports = Object.fromEntries((main.ports as Manifest[]).map((p) => [p.name, p.containerPort]));
  expect(ports).toEqual({ postgres: port(listen.postgres), http: port(listen.http) });
  // Reachable from other pods: not loopback.
  expect(listen.postgres.startsWith("0.0.0.0:") && listen.http.startsWith("0.0.0.0:")).toBe(true);
  expect(main.readinessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
  expect(main.livenessProbe.httpGet.port).toBe("http");
  expect(main.livenessProbe.httpGet.path).not.toBe("/healthz");
  expect(main.startupProbe.httpGet.port).toBe("http");
  for (const svc of manifests().filter((m) => m.doc.kind === "Service")) {
    for (const p of svc.doc.spec.ports as Manifest[]) {
      expect(ports[p.targetPort], `${svc.doc.metadata.name} ${p.name}`).toBe(p.port);
    }
    expect(svc.doc.spec.selector).toEqual(sts.spec.selector.matchLabels);
  }
  expect(sts.spec.template.metadata.labels).toMatchObject(sts.spec.selector.matchLabels);
  expect(findManifest("PodDisruptionBudget").spec.selector.matchLabels).toEqual(
    sts.spec.selector.matchLabels,
  );
  expect(findManifest("NetworkPolicy").spec.podSelector.matchLabels).toEqual(sts.spec.selector.matchLabels);
  expect(main.args).toEqual(["serve", "--config", "/etc/custos/config/custos.yaml"]);
});

test("the drain fits: preStop plus serve's 5 s grace stay well inside terminationGracePeriodSeconds", () => {
  const sleep = Number(main.lifecycle.preStop.exec.command[1]);
  expect(main.lifecycle.preStop.exec.command[0]).toBe("sleep");
  expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(sleep + 5 + 15);
});

test("the NetworkPolicy denies by default and allows DNS, targets, the audit store and the IdP only", () => {
  const np = findManifest("NetworkPolicy").spec as Manifest;
  expect(np.policyTypes).toEqual(["Ingress", "Egress"]);
  const egressPorts = (np.egress as Manifest[])
    .flatMap((r) => (r.ports as Manifest[]).map((p) => p.port))
    .sort();
  expect(egressPorts).toEqual([443, 443, 5432, 5432, 53, 53].sort());
  for (const rule of np.egress as Manifest[]) expect(rule.to?.length).toBeGreaterThan(0);
  for (const rule of np.ingress as Manifest[]) expect(rule.from?.length).toBeGreaterThan(0);
});

test("every Secret and ConfigMap the pod references is documented in deploy/README.md", () => {
  const refs: string[] = [];
  for (const c of allContainers) {
    for (const e of (c.env ?? []) as Manifest[]) {
      const r = e.valueFrom?.secretKeyRef;
      if (r) refs.push(`${r.name}/${r.key}`);
    }
  }
  for (const v of pod.volumes as Manifest[]) {
    if (v.secret) {
      const keys = (v.secret.items as Manifest[] | undefined)?.map((i) => i.key) ?? ["tls.crt", "tls.key"];
      for (const k of keys) refs.push(`${v.secret.secretName}/${k}`);
    }
    if (v.configMap && v.configMap.name !== "custos-config") refs.push(`configmap ${v.configMap.name}`);
  }
  expect(refs.length).toBeGreaterThan(8);
  for (const ref of refs) {
    const [name, key] = ref.startsWith("configmap ") ? [ref.slice(10), null] : ref.split("/");
    expect(README, ref).toContain(`\`${name}\``);
    if (key)
      expect(README, ref).toMatch(new RegExp(`\\|\\s*\`${name}\`\\s*\\|\\s*\`${key.replace(".", "\\.")}\``));
  }
});

test("the ConfigMap's custos.yaml loads with the env the pod provides and the files it mounts", async () => {
  // The pod's paths, moved under a temp root.
  const at = (p: string) => join(tree.dir, p);
  const moved = CUSTOS_YAML.replaceAll("/etc/custos/", `${at("etc/custos")}/`).replaceAll(
    "/var/lib/custos/",
    `${at("var/lib/custos")}/`,
  );
  const path = tree.write("etc/custos/config/custos.yaml", moved, 0o644);
  const env: Record<string, string> = {};
  for (const e of main.env as Manifest[]) {
    const r = e.valueFrom?.secretKeyRef;
    env[e.name] = r
      ? r.name === "custos-audit-store"
        ? "postgres://custos_gateway:pw@audit-db:5432/custos_audit"
        : `${r.key}-value`
      : e.value;
  }
  const ca = await certificate("example-ca");
  const mounts = Object.fromEntries(
    (main.volumeMounts as Manifest[]).map((m) => [m.name, m.mountPath as string]),
  );
  tree.write(`${mounts["target-ca"]!.slice(1)}/ledger-db-ca.pem`, ca.cert, 0o644);
  tree.write(`${mounts["target-ca"]!.slice(1)}/billing-ca.pem`, ca.cert, 0o644);
  const tlsMode = (pod.volumes as Manifest[]).find((v) => v.name === "tls")!.secret.defaultMode as number;
  expect(tlsMode).toBe(0o440);
  const gw = await certificate("custos.example.com");
  tree.write(`${mounts.tls!.slice(1)}/tls.crt`, gw.cert, tlsMode);
  const keyPath = tree.write(`${mounts.tls!.slice(1)}/tls.key`, gw.key, tlsMode);
  tree.write(`${mounts.masking!.slice(1)}/hmac-key`, "masking-key-0123456789abcdef\n", 0o440);

  const config = loadConfig(path, env);
  expect(config.connections[0]!.target.password!.reveal()).toBe("ledger-db-password-value");
  expect(config.masking.hmacKey!.reveal()).toBe("masking-key-0123456789abcdef");
  expect(config.dataDir).toBe(at("var/lib/custos/data"));
  expect(config.policy.bundle!.startsWith(`${at(mounts.policy!.slice(1))}/`)).toBe(true);
  expect(config.listen.http).toEqual({ host: "0.0.0.0", port: 8080 });
  // Listening on the wildcard, so approval links need the Ingress's address.
  expect(config.listen.publicUrl).toBe("https://custos.example.com");
  // A *_env the pod does not set is the loader's error: every one is covered.
  const { CONSOLE_CLIENT_SECRET: _, ...missing } = env;
  expect(() => loadConfig(path, missing)).toThrow(
    "console.oidc.client_secret_env: environment variable CONSOLE_CLIENT_SECRET is not set",
  );

  // The Secret volume's defaultMode is one the gateway accepts for its TLS key; the default 0644 is not.
  expect(
    (
      await loadOrCreateTlsMaterial({
        certFile: config.tls!.certFile,
        keyFile: config.tls!.keyFile,
        dataDir: tree.dir,
      })
    ).selfSigned,
  ).toBe(false);
  tree.write(`${mounts.tls!.slice(1)}/tls.key`, gw.key, 0o644);
  expect(statSync(keyPath).mode & 0o777).toBe(0o644);
  await expect(
    loadOrCreateTlsMaterial({
      certFile: config.tls!.certFile,
      keyFile: config.tls!.keyFile,
      dataDir: tree.dir,
    }),
  ).rejects.toThrow("readable by everyone");
  // The policy ConfigMap is mounted as a directory (kubelet updates it), never through subPath.
  for (const m of main.volumeMounts as Manifest[]) expect(m.subPath, m.name).toBeUndefined();
});

test("the init container seeds the shared keys once, 0600, and never overwrites them", async () => {
  const init = (pod.initContainers as Manifest[]).find((c) => c.name === "seed-keys")!;
  const script = init.args[0] as string;
  const seed = scratch("custos-seed-");
  const data = join(tree.dir, "seeded/data");
  try {
    const { privateKey } = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const der = Buffer.from(await crypto.subtle.exportKey("pkcs8", privateKey)).toString("base64");
    seed.write("gateway-key.pem", `-----BEGIN PRIVATE KEY-----\n${der}\n-----END PRIVATE KEY-----\n`, 0o440);
    seed.write("console.key", `${Buffer.alloc(32, 7).toString("base64")}\n`, 0o440);
    const run = () =>
      Bun.spawnSync(["/bin/sh", "-c", script], {
        env: { DATA_DIR: data, SEED_DIR: seed.dir, PATH: process.env.PATH ?? "/usr/bin:/bin" },
        stderr: "pipe",
        stdout: "pipe",
      });
    const first = run();
    expect(first.stderr.toString()).toBe("");
    expect(first.stdout.toString()).toBe("seeded gateway-key.pem\nseeded console.key\n");
    expect(statSync(join(data, "gateway-key.pem")).mode & 0o777).toBe(0o600);
    expect(statSync(data).mode & 0o077).toBe(0);
    // The gateway accepts what was seeded (it refuses group-readable key files).
    const key = await loadOrCreateGatewayKey(data);
    expect(Buffer.from(key.pkcs8).toString("base64")).toBe(der);
    expect(loadOrCreateConsoleKey(data)).toEqual(new Uint8Array(Buffer.alloc(32, 7)));
    // A second start with a different seed changes nothing: a log's checkpoints keep one key.
    seed.write("gateway-key.pem", "-----BEGIN PRIVATE KEY-----\nother\n-----END PRIVATE KEY-----\n", 0o440);
    const second = run();
    expect(second.exitCode).toBe(0);
    expect(second.stdout.toString()).toBe("");
    expect(Buffer.from((await loadOrCreateGatewayKey(data)).pkcs8).toString("base64")).toBe(der);
    // Without the (optional) Secret the script does nothing and the gateway makes its own key.
    const empty = Bun.spawnSync(["/bin/sh", "-c", script], {
      env: {
        DATA_DIR: join(tree.dir, "unseeded"),
        SEED_DIR: join(tree.dir, "absent"),
        PATH: process.env.PATH ?? "",
      },
    });
    expect(empty.exitCode).toBe(0);
  } finally {
    rmSync(seed.dir, { recursive: true, force: true });
  }
});

test("kubectl kustomize renders the directory, when kubectl is installed", () => {
  const kubectl = Bun.which("kubectl");
  if (!kubectl) {
    console.warn("SKIPPED: kubectl not found; kustomization.yaml was only checked by parsing");
    return;
  }
  const run = Bun.spawnSync([kubectl, "kustomize", K8S], { stdout: "pipe", stderr: "pipe" });
  expect(run.stderr.toString()).toBe("");
  expect(run.exitCode).toBe(0);
  const kinds = run.stdout.toString().match(/^kind: \w+$/gm) ?? [];
  expect(kinds.length).toBe(7);
});
