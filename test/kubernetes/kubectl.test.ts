// Real kubectl, with only the kubeconfig `custos kubeconfig` prints, through the gateway to a real
// kube-apiserver and kubelet (test/support/kube-cluster.ts). Judged by effect: fixture values counted in
// everything kubectl printed, the cluster's state read directly as its admin, the apiserver's own audit
// log for who acted. The first run builds the Kubernetes binaries (scripts/setup-kube, ~20 min cold).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:tls";
import { openStore } from "../../src/audit/store.ts";
import { sessionsExportCommand } from "../../src/cli/sessions-cast.ts";
import type { Frame } from "../../src/core/frame.ts";
import { toAsciicast } from "../../src/protocols/kubernetes/asciicast.ts";
import { CHROMIUM, launchBrowser } from "../console/browser.ts";
import { dataDirBytes } from "../support/data-dir-files.ts";
import { freePort } from "../support/free-port.ts";
import { IMAGE, type KubeCluster, startKubeCluster } from "../support/kube-cluster.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { cli, type KubeGateway, type Run, startKubeGateway } from "./support.ts";

const SSN = "123-45-6789";
const EMAIL = "ada.lovelace@example.com";
const PASSWORD = "s3cret-canary-Pa55";
const TOKEN_VALUE = "tok-canary-77f1";
const PASSWORD_B64 = Buffer.from(PASSWORD).toString("base64");
const SECRET_CANARIES = [PASSWORD, PASSWORD_B64, TOKEN_VALUE, Buffer.from(TOKEN_VALUE).toString("base64")];
const NS = "team-a";
const HTTPD_PORT = 18080 + Math.floor(Math.random() * 1000);

let cluster: KubeCluster;
let issuer: OidcIssuer;
let gw: KubeGateway;
let agent: string;
let human: string;
let approverToken: string;

const out = (r: Run) => `${r.stdout}\n${r.stderr}`;
const leaks = (text: string, canaries: string[]) => canaries.filter((c) => text.includes(c));

function manifest(): string {
  const pod = (name: string, script: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS },
    spec: {
      nodeName: cluster.node,
      hostNetwork: true,
      terminationGracePeriodSeconds: 1,
      containers: [
        { name: "main", image: IMAGE, imagePullPolicy: "Never", command: ["/bin/sh", "-c", script] },
      ],
    },
  });
  const items = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "app-config", namespace: NS },
      data: { owner_email: EMAIL, note: `customer ssn ${SSN} on file`, plain: "harmless-value-42" },
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db-creds", namespace: NS },
      type: "Opaque",
      stringData: { password: PASSWORD, token: TOKEN_VALUE },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: NS },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "web", image: IMAGE, command: ["/bin/sleep", "3600"] }] },
        },
      },
    },
    // Agents and SREs may do anything the cluster's RBAC is asked; Custos's policy is what limits them.
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "custos-callers" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [
        { kind: "Group", name: "agents", apiGroup: "rbac.authorization.k8s.io" },
        { kind: "Group", name: "sre", apiGroup: "rbac.authorization.k8s.io" },
      ],
    },
    pod("shell", `echo "boot ssn ${SSN}"; i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 1; done`),
    pod("web-server", `exec httpd -f -p 127.0.0.1:${HTTPD_PORT} -h /www`),
  ];
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

beforeAll(async () => {
  [cluster, issuer] = await Promise.all([startKubeCluster(), startOidcIssuer()]);
  const applied = await cluster.admin(["apply", "-f", "-"], manifest());
  if (applied.code !== 0) throw new Error(`fixture: ${applied.stderr}`);
  const ready = await cluster.admin([
    "wait",
    "-n",
    NS,
    "--for=condition=Ready",
    "pod/shell",
    "pod/web-server",
    "--timeout=180s",
  ]);
  if (ready.code !== 0)
    throw new Error(
      `pods not ready: ${ready.stderr}\n${(await cluster.admin(["describe", "pods", "-n", NS])).stdout}`,
    );
  gw = await startKubeGateway(cluster, issuer);
  agent = await gw.kubeconfig(await gw.token("agent-7", ["agents"]));
  human = await gw.kubeconfig(await gw.token("sam", ["sre"]));
  approverToken = await gw.token("lead", ["sre-leads"]);
}, 45 * 60_000);

afterAll(async () => {
  await gw?.stop();
  await issuer?.stop();
  await cluster?.stop();
});

async function approvals(status = "pending") {
  const res = await fetch(`http://127.0.0.1:${gw.httpPort}/api/approvals?status=${status}&kind=statement`, {
    headers: { authorization: `Bearer ${approverToken}` },
  });
  return ((await res.json()) as { requests?: { id: string; statement?: { text: string } }[] }).requests ?? [];
}

/** Decides the pending request whose text contains `text` (kubectl's exec is a GET over WebSocket, a POST
 *  over SPDY: the verb differs, the resource does not). */
async function decide(text: string, verdict: "approve" | "deny") {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = (await approvals()).find((r) => r.statement?.text.includes(text));
    if (found) {
      const res = await fetch(`http://127.0.0.1:${gw.httpPort}/api/approvals/${found.id}/${verdict}`, {
        method: "POST",
        headers: { authorization: `Bearer ${approverToken}`, "content-type": "application/json" },
        body: JSON.stringify({ reason: "change ticket CHG-42" }),
      });
      expect(res.status).toBe(200);
      return found;
    }
    if (Date.now() > deadline) throw new Error(`nothing pending with ${text}`);
    await Bun.sleep(200);
  }
}

describe("reads: decided, and masked for agents", () => {
  test("get and list work unchanged", async () => {
    const pods = await gw.kubectl(agent, ["get", "pods", "-n", NS]);
    expect(pods.code).toBe(0);
    expect(pods.stdout).toContain("shell");
    expect(pods.stdout).toContain("Running");
    const deploy = await gw.kubectl(agent, [
      "get",
      "deployment",
      "web",
      "-n",
      NS,
      "-o",
      "jsonpath={.spec.replicas}",
    ]);
    expect(deploy.stdout).toBe("1");
  });

  test("regulated values in objects are masked for agents, harmless ones are not, humans see them", async () => {
    for (const args of [
      ["get", "configmap", "app-config", "-n", NS, "-o", "json"],
      ["get", "configmaps", "-n", NS, "-o", "yaml"],
      ["get", "--raw", `/api/v1/namespaces/${NS}/configmaps/app-config`],
    ]) {
      const r = await gw.kubectl(agent, args);
      expect(r.code).toBe(0);
      expect(leaks(out(r), [SSN, EMAIL])).toEqual([]);
      expect(r.stdout).toContain("harmless-value-42");
    }
    const h = await gw.kubectl(human, ["get", "configmap", "app-config", "-n", NS, "-o", "json"]);
    expect(leaks(h.stdout, [SSN, EMAIL])).toEqual([SSN, EMAIL]);
  });

  test("a watch is masked event by event", async () => {
    const watching = gw.kubectl(agent, [
      "get",
      "--raw",
      `/api/v1/namespaces/${NS}/configmaps?watch=1&timeoutSeconds=4`,
    ]);
    await Bun.sleep(1500);
    const changed = await cluster.admin([
      "create",
      "configmap",
      "late",
      "-n",
      NS,
      `--from-literal=contact=${EMAIL}`,
      "--from-literal=keep=visible-77",
    ]);
    expect(changed.code).toBe(0);
    const r = await watching;
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
    expect(events.map((e) => e.object.metadata.name)).toEqual(expect.arrayContaining(["app-config", "late"]));
    expect(r.stdout).toContain("visible-77");
    expect(leaks(out(r), [SSN, EMAIL])).toEqual([]);
  });
});

describe("Secrets", () => {
  test("an agent may not read a Secret by name", async () => {
    for (const args of [
      ["get", "secret", "db-creds", "-n", NS, "-o", "yaml"],
      ["get", "--raw", `/api/v1/namespaces/${NS}/secrets/db-creds`],
      ["describe", "secret", "db-creds", "-n", NS],
    ]) {
      const r = await gw.kubectl(agent, args);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("Forbidden");
      expect(leaks(out(r), SECRET_CANARIES)).toEqual([]);
    }
  });

  test("lists and watches of Secrets reach agents with every value removed, keys kept", async () => {
    for (const args of [
      ["get", "secrets", "-n", NS, "-o", "json"],
      ["get", "secrets", "-n", NS, "--field-selector", "metadata.name=db-creds", "-o", "yaml"],
      ["get", "secrets", "-A"],
      ["get", "--raw", `/api/v1/secrets?watch=true&timeoutSeconds=1`],
      ["get", "--raw", `/api/v1/namespaces/${NS}/secrets?fieldSelector=metadata.name%3Ddb-creds`],
    ]) {
      const r = await gw.kubectl(agent, args);
      expect(r.code).toBe(0);
      expect(leaks(out(r), SECRET_CANARIES)).toEqual([]);
      expect(r.stdout).toContain("db-creds");
    }
    const json = await gw.kubectl(agent, ["get", "secrets", "-n", NS, "-o", "json"]);
    const item = (
      JSON.parse(json.stdout) as { items: { metadata: { name: string }; data: Record<string, string> }[] }
    ).items.find((i) => i.metadata.name === "db-creds")!;
    expect(Object.keys(item.data).sort()).toEqual(["password", "token"]);
  });

  test("no path to a Secret's values for an agent: every spelling the API server accepts", async () => {
    const paths = [
      `/api/v1/namespaces/${NS}/secrets/db-creds/`,
      `/api/v1/watch/namespaces/${NS}/secrets/db-creds?timeoutSeconds=1`,
      `/api/v1/watch/namespaces/${NS}/secrets?timeoutSeconds=1`,
      `/api/v1/namespaces/${NS}/secrets?watch=true&fieldSelector=metadata.name%3Ddb-creds&timeoutSeconds=1`,
      `/api/v1/namespaces/${NS}/secrets?watch=FALSE`,
      `/api/v1/namespaces/${NS}/secrets?includeObject=Object`,
      "/api/v1/secrets?limit=1",
      `/api/v1/namespaces/${NS}/Secrets/db-creds`,
      `/api/v1/namespaces/${NS}/secrets/db-creds?watch=1`,
      `/api/v1/namespaces/${NS}/secrets/db-creds/status`,
    ];
    for (const path of paths) {
      const r = await gw.kubectl(agent, ["get", "--raw", path]);
      expect({ path, leaked: leaks(out(r), SECRET_CANARIES) }).toEqual({ path, leaked: [] });
    }
    // Table output with the whole object, as kubectl asks for it with --show-managed-fields/-o wide.
    const table = await gw.kubectl(agent, ["get", "secrets", "-n", NS, "-o", "wide", "--show-labels"]);
    expect(table.code).toBe(0);
    expect(leaks(out(table), SECRET_CANARIES)).toEqual([]);
    // A harmless look-alike: a ConfigMap named like the Secret keeps its data.
    await cluster.admin(["create", "configmap", "db-creds", "-n", NS, "--from-literal=hint=lookalike-ok-9"]);
    const cm = await gw.kubectl(agent, [
      "get",
      "configmap",
      "db-creds",
      "-n",
      NS,
      "-o",
      "jsonpath={.data.hint}",
    ]);
    expect(cm.stdout).toBe("lookalike-ok-9");
  });

  test("a human reads the Secret as it is (the masking is the agent's)", async () => {
    const r = await gw.kubectl(human, [
      "get",
      "secret",
      "db-creds",
      "-n",
      NS,
      "-o",
      "jsonpath={.data.password}",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(PASSWORD_B64);
    // Nor does the audit store hold them: the recorded responses lose Secret values, whoever read them.
    await gw.gw.recorder.durable();
    // Read from a child process: a read of the live store's files from this one drops the gateway's SQLite
    // locks, and a later CLI (`custos console link` below) would take the store over.
    const stored = dataDirBytes(gw.dataDir, (name) => name.startsWith("audit"));
    expect(SECRET_CANARIES.filter((c) => stored.includes(c))).toEqual([]);
  });
});

describe("writes held for review", () => {
  const replicas = async () =>
    (await cluster.admin(["get", "deployment", "web", "-n", NS, "-o", "jsonpath={.spec.replicas}"])).stdout;

  test("an agent's scale waits for an approver, then is applied", async () => {
    const scaling = gw.kubectl(agent, ["scale", "deployment", "web", "-n", NS, "--replicas=3"]);
    const held = await decide("patch deployments.apps/web/scale -n team-a", "approve");
    expect(held.statement!.text).toContain('"replicas":3');
    const r = await scaling;
    expect(out(r)).toContain("scaled");
    expect(r.code).toBe(0);
    expect(await replicas()).toBe("3");
  });

  test("a denied write never reaches the cluster", async () => {
    const scaling = gw.kubectl(agent, ["scale", "deployment", "web", "-n", NS, "--replicas=7"]);
    await decide("patch deployments.apps/web/scale -n team-a", "deny");
    const r = await scaling;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Forbidden");
    expect(await replicas()).toBe("3");
  });

  test("deleting a namespace is denied for agents; the namespace stays", async () => {
    const r = await gw.kubectl(agent, ["delete", "namespace", NS, "--wait=false"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Forbidden");
    expect(r.stderr).toContain("deleting a namespace");
    expect((await cluster.admin(["get", "namespace", NS, "-o", "jsonpath={.status.phase}"])).stdout).toBe(
      "Active",
    );
    expect(await approvals()).toEqual([]);
  });

  test("RBAC changes are denied for agents and never reach the cluster", async () => {
    const r = await gw.kubectl(agent, [
      "create",
      "clusterrolebinding",
      "escalate",
      "--clusterrole=cluster-admin",
      "--user=agent-7",
    ]);
    expect(r.code).not.toBe(0);
    expect((await cluster.admin(["get", "clusterrolebinding", "escalate"])).code).not.toBe(0);
  });
});

describe("identity at the cluster", () => {
  test("a kubeconfig with the custos kube-token credential plugin works with the token in the environment", async () => {
    const made = await cli(
      ["kubeconfig", "--config", gw.configFile, "--connection", "prod-cluster", "--exec"],
      {
        CUSTOS_BIN: join(import.meta.dir, "../../custos"),
      },
    );
    expect(made.code).toBe(0);
    expect(made.stdout).toContain("client.authentication.k8s.io/v1");
    const file = `${gw.dataDir}/exec.kubeconfig`;
    writeFileSync(file, made.stdout);
    const token = await gw.token("agent-exec", ["agents"]);
    expect(made.stdout).not.toContain(token);
    const r = await gw.kubectl(file, ["get", "pods", "-n", NS, "-o", "name"], {
      env: { CUSTOS_TOKEN: token },
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("pod/shell");
    const none = await gw.kubectl(file, ["get", "pods", "-n", NS], { env: { CUSTOS_TOKEN: "" } });
    expect(none.code).not.toBe(0);
  });

  test("the apiserver's audit log names the caller as impersonated by the gateway's account", async () => {
    await gw.kubectl(agent, ["get", "configmaps", "-n", NS]);
    const events = cluster.auditEvents() as {
      user: { username: string; groups?: string[] };
      impersonatedUser?: { username: string; groups?: string[] };
      requestURI: string;
    }[];
    const mine = events.filter((e) => e.impersonatedUser?.username === "agent-7");
    expect(mine.length).toBeGreaterThan(0);
    for (const e of mine) {
      expect(e.user.username).toBe("custos-gateway");
      expect(e.impersonatedUser!.groups).toContain("agents");
    }
    // Nobody authenticated to the apiserver as the agent: its token never got there.
    expect(events.filter((e) => e.user.username === "agent-7")).toEqual([]);
  });

  test("a client's own impersonation, a missing token and a bad token are refused in Kubernetes terms", async () => {
    const asAdmin = await gw.kubectl(agent, [
      "get",
      "pods",
      "-n",
      NS,
      "--as=admin",
      "--as-group=system:masters",
    ]);
    expect(asAdmin.code).not.toBe(0);
    expect(asAdmin.stderr).toContain("Impersonate");
    const bad = await gw.kubeconfig("not-a-token");
    const r = await gw.kubectl(bad, ["get", "pods", "-n", NS]);
    expect(r.code).not.toBe(0);
    // 401: kubectl's own words for it.
    expect(r.stderr).toMatch(/must be logged in to the server/i);
  });
});

/** One raw HTTP/1.1 exchange over TLS to the gateway (what kubectl would never send). */
async function rawRequest(lines: string[]): Promise<string> {
  return await new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port: gw.port, rejectUnauthorized: false }, () => {
      const close = lines.some((l) => /^connection:/i.test(l)) ? "" : "Connection: close\r\n";
      s.write(`${lines.join("\r\n")}\r\n${close}\r\n`);
    });
    let got = "";
    s.on("data", (d) => {
      got += d.toString();
    });
    s.on("end", () => resolve(got));
    s.on("close", () => resolve(got));
    s.on("error", reject);
    setTimeout(() => s.destroy(), 5000);
  });
}

describe("malformed and unknown requests", () => {
  const auth = async () => `Authorization: Bearer ${await gw.token("sam", ["sre"])}`;
  test("unknown upgrade protocols, upgrades outside exec/attach/portforward and non-canonical paths are refused", async () => {
    const cases: [string[], string][] = [
      [
        [
          `GET /c/prod-cluster/api/v1/namespaces/${NS}/pods/shell/exec?command=id HTTP/1.1`,
          "Host: x",
          await auth(),
          "Connection: Upgrade",
          "Upgrade: h2c",
        ],
        "415",
      ],
      [
        [
          `GET /c/prod-cluster/api/v1/namespaces/${NS}/configmaps?watch=1 HTTP/1.1`,
          "Host: x",
          await auth(),
          "Connection: Upgrade",
          "Upgrade: websocket",
          "Sec-WebSocket-Version: 13",
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
          "Sec-WebSocket-Protocol: v5.channel.k8s.io",
        ],
        "415",
      ],
      [
        [
          `GET /c/prod-cluster/api/v1/namespaces/${NS}/pods/shell/exec?command=id HTTP/1.1`,
          "Host: x",
          await auth(),
          "Connection: Upgrade",
          "Upgrade: websocket",
          "Sec-WebSocket-Version: 13",
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
          "Sec-WebSocket-Protocol: base64.channel.k8s.io",
        ],
        "415",
      ],
      [
        [`GET /c/prod-cluster/api/v1/namespaces/${NS}/secrets%2Fdb-creds HTTP/1.1`, "Host: x", await auth()],
        "400",
      ],
      [
        [`GET /c/prod-cluster/api/v1/namespaces/${NS}/pods/../secrets HTTP/1.1`, "Host: x", await auth()],
        "400",
      ],
      [["GET /c/prod-cluster/api/v1/pods HTTP/1.1", "Host: x"], "401"],
      [["GET /c/no-such-cluster/api/v1/pods HTTP/1.1", "Host: x", await auth()], "404"],
      [["GET /api/v1/pods HTTP/1.1", "Host: x", await auth()], "404"],
      [["OPTIONS /c/prod-cluster/api/v1/pods HTTP/1.1", "Host: x", await auth()], "403"],
    ];
    for (const [lines, status] of cases) {
      const answer = await rawRequest(lines);
      expect(answer.split("\r\n")[0]).toContain(` ${status} `);
      if (answer.includes("{")) expect(JSON.parse(answer.slice(answer.indexOf("{"))).kind).toBe("Status");
    }
    const garbage = await rawRequest(["\u0000\u0001 garbage"]);
    expect(garbage.split("\r\n")[0]).toContain("400");
    // The gateway is still serving.
    expect((await gw.kubectl(human, ["get", "pods", "-n", NS])).code).toBe(0);
  });
});

const sessionsWithFrames = async (pred: (f: Frame) => boolean) => {
  await gw.gw.recorder.durable();
  const store = await openStore(`sqlite:${gw.dataDir}/audit.db`);
  try {
    const found: { id: string; frames: Frame[] }[] = [];
    for (const s of await store.listSessions({ limit: 200 })) {
      const frames = await store.sessionFrames(s.id);
      if (frames.some(pred)) found.push({ id: s.id, frames });
    }
    return found;
  } finally {
    await store.close();
  }
};

async function sessionFramesWith(pred: (f: Frame) => boolean): Promise<Frame[][]> {
  return (await sessionsWithFrames(pred)).map((s) => s.frames);
}

describe("exec, logs and port-forward", () => {
  test("kubectl exec (non-interactive) through the gateway: stdout, stderr, exit code, recorded", async () => {
    const r = await gw.kubectl(human, [
      "exec",
      "shell",
      "-n",
      NS,
      "--",
      "sh",
      "-c",
      "echo out-marker-1; echo err-marker-2 >&2; exit 3",
    ]);
    expect(r.stdout).toContain("out-marker-1");
    expect(r.stderr).toContain("err-marker-2");
    expect(r.code).toBe(3);
    const sessions = await sessionFramesWith(
      (f) =>
        f.kind === "stdout" &&
        new TextDecoder().decode((f.data as { bytes: Uint8Array }).bytes).includes("out-marker-1"),
    );
    expect(sessions.length).toBe(1);
    const cast = toAsciicast(sessions[0]!).trim().split("\n");
    expect(JSON.parse(cast[0]!).version).toBe(2);
    const events = cast.slice(1).map((l) => JSON.parse(l) as [number, string, string]);
    expect(events.some(([, c, d]) => c === "o" && d.includes("out-marker-1"))).toBe(true);
    expect(events.some(([, c, d]) => c === "o" && d.includes("err-marker-2"))).toBe(true);
    expect(events.at(-1)).toEqual([expect.any(Number), "m", "exit 3"]);
    // Replayed from the store by the CLI, and readable by asciinema itself.
    const [session] = await sessionsWithFrames(
      (f) => f.kind === "status" && JSON.stringify(f.data).includes('"exit_code":3'),
    );
    const file = `${gw.dataDir}/exec.cast`;
    // In process: a second process opening the embedded store while the gateway writes it made later
    // opens fail with SQLITE_IOERR on this machine (see the report).
    expect(
      await sessionsExportCommand.run([
        session!.id,
        "--config",
        gw.configFile,
        "--format",
        "cast",
        "--out",
        file,
      ]),
    ).toBe(0);
    const cat = Bun.spawnSync(["script", "-qec", `asciinema cat ${file}`, "/dev/null"], { stdout: "pipe" });
    expect(cat.stdout.toString()).toContain("out-marker-1");
  });

  test("legacy SPDY exec (websockets off in kubectl) is relayed too, and recorded per stream", async () => {
    const r = await gw.kubectl(
      human,
      ["exec", "shell", "-n", NS, "--", "sh", "-c", "echo spdy-out-5; exit 4"],
      {
        env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false" },
      },
    );
    expect(r.stdout).toContain("spdy-out-5");
    expect(r.code).toBe(4);
    const sessions = await sessionsWithFrames(
      (f) => f.kind === "upgraded" && JSON.stringify(f.data).includes('"spdy"'),
    );
    expect(sessions.length).toBeGreaterThan(0);
    // Streams typed from their SPDY headers: the session replays like a WebSocket one.
    const cast = toAsciicast(sessions.at(-1)!.frames);
    expect(cast).toContain("spdy-out-5");
    expect(cast).toContain('"exit 4"');
  });

  test("kubectl exec -it: a terminal session, input and output recorded", async () => {
    const script = `echo typed-${"$((6*7))"}\nexit\n`;
    const proc = Bun.spawn(
      [
        "script",
        "-qec",
        // A sized pty (script alone gives 0x0), so kubectl reports a window the replay must show.
        `stty rows 30 cols 100; ${cluster.bin}/kubectl --kubeconfig=${human} exec -it shell -n ${NS} -- sh`,
        "/dev/null",
      ],
      {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
        env: { PATH: process.env.PATH ?? "", HOME: gw.dataDir, TERM: "xterm" },
      },
    );
    await Bun.sleep(3000);
    proc.stdin.write(script);
    await proc.stdin.flush();
    const timer = setTimeout(() => proc.kill(), 30_000);
    const stdout = await new Response(proc.stdout).text();
    clearTimeout(timer);
    expect(stdout).toContain("typed-42");
    const sessions = await sessionFramesWith((f) => f.kind === "resize");
    const frames = sessions.at(-1)!;
    const cast = toAsciicast(frames);
    expect(cast).toContain("typed-42");
    expect(cast).toContain('"i"');
    // The window size kubectl reported is recorded, and the cast replays it as a resize.
    const sizes = frames.filter((f) => f.kind === "resize").map((f) => String(f.data?.text ?? ""));
    expect(sizes.length).toBeGreaterThan(0);
    const windows = sizes.map((s) => JSON.parse(s) as { Width: number; Height: number });
    expect(windows).toContainEqual({ Width: 100, Height: 30 });
    expect(cast).toContain(`"r","100x30"`);
  });

  test("the console replays the kubectl exec -it session in Chromium: the terminal shows what kubectl saw", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/setup-test-deps`);
    const session = (await sessionsWithFrames((f) => f.kind === "resize")).at(-1)!;
    const link = await cli([
      "console",
      "link",
      "--config",
      gw.configFile,
      "--subject",
      "sre-1",
      "--groups",
      "custos-admins",
    ]);
    expect(link.code).toBe(0);
    const browser = await launchBrowser();
    try {
      const page = await browser.page();
      await page.goto(link.stdout.trim());
      await page.waitForURL(/\/console\/(sessions|approvals)/);
      await page.goto(`http://127.0.0.1:${gw.httpPort}/console/sessions/${session.id}`);
      const terminal = page.locator("#terminal");
      // Before playing, the screen is empty; "End" jumps to the last frame, as the replay's seek does.
      expect(await terminal.textContent()).not.toContain("typed-42");
      await page.locator("#term-end").click();
      await terminal.filter({ hasText: "typed-42" }).waitFor();
      const screen = (await terminal.textContent()) ?? "";
      // The shell's echo of what was typed and the command's output are both on the replayed screen.
      expect(screen).toContain("echo typed-$((6*7))");
      expect(screen).toContain("typed-42");
      await browser.shot(page, "kubernetes-exec-replay");
    } finally {
      await browser.close();
    }
  }, 60_000);

  test("an agent's exec is held for review, and its output is masked", async () => {
    const running = gw.kubectl(agent, [
      "exec",
      "shell",
      "-n",
      NS,
      "--",
      "sh",
      "-c",
      `echo "id ${SSN} mail ${EMAIL} ok-visible"`,
    ]);
    await decide("pods/shell/exec -n team-a", "approve");
    const r = await running;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ok-visible");
    expect(leaks(out(r), [SSN, EMAIL])).toEqual([]);
    // The recording holds what the agent received.
    const sessions = await sessionFramesWith(
      (f) =>
        f.kind === "stdout" &&
        new TextDecoder().decode((f.data as { bytes: Uint8Array }).bytes).includes("ok-visible"),
    );
    expect(sessions.length).toBe(1);
    expect(leaks(toAsciicast(sessions[0]!), [SSN, EMAIL])).toEqual([]);
  });

  test("logs and logs -f reach agents through the detectors", async () => {
    const r = await gw.kubectl(agent, ["logs", "shell", "-n", NS]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("tick");
    expect(r.stdout).toContain("boot ssn");
    expect(leaks(r.stdout, [SSN])).toEqual([]);
    const follow = await gw.kubectl(agent, ["logs", "-f", "shell", "-n", NS, "--since=10s"], {
      timeoutMs: 4000,
    });
    expect(follow.stdout.split("\n").filter((l) => l.startsWith("tick")).length).toBeGreaterThan(1);
    const human_ = await gw.kubectl(human, ["logs", "shell", "-n", NS]);
    expect(human_.stdout).toContain(SSN);
  });

  test("port-forward through the gateway for a human; refused for a masked agent", async () => {
    const local = await freePort();
    const pf = Bun.spawn(
      [
        `${cluster.bin}/kubectl`,
        `--kubeconfig=${human}`,
        "port-forward",
        "-n",
        NS,
        "pod/web-server",
        `${local}:${HTTPD_PORT}`,
      ],
      { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "", HOME: gw.dataDir } },
    );
    try {
      let body = "";
      for (let i = 0; i < 40 && !body; i++) {
        await Bun.sleep(250);
        try {
          body = await (await fetch(`http://127.0.0.1:${local}/index.html`)).text();
        } catch {}
      }
      expect(body).toContain("custos port-forward canary");
    } finally {
      pf.kill();
      await pf.exited;
    }
    const sessions = await sessionFramesWith(
      (f) => f.kind === "upgraded" && JSON.stringify(f.data).includes("portforward"),
    );
    expect(sessions.length).toBeGreaterThan(0);
    const tunnel = sessions.flat().filter((f) => f.kind === "data" || f.kind === "tunnel");
    expect(
      tunnel.some((f) =>
        new TextDecoder().decode((f.data as { bytes: Uint8Array }).bytes).includes("port-forward canary"),
      ),
    ).toBe(true);

    const agentLocal = await freePort();
    const apf = Bun.spawn(
      [
        `${cluster.bin}/kubectl`,
        `--kubeconfig=${agent}`,
        "port-forward",
        "-n",
        NS,
        "pod/web-server",
        `${agentLocal}:${HTTPD_PORT}`,
      ],
      { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "", HOME: gw.dataDir } },
    );
    try {
      // Refused before any review: nobody is asked to approve a tunnel an agent could never use.
      await Bun.sleep(1500);
      const attempt = await fetch(`http://127.0.0.1:${agentLocal}/index.html`)
        .then((r) => r.text())
        .catch(() => "");
      expect(attempt).not.toContain("canary");
      expect(await approvals()).toEqual([]);
    } finally {
      apf.kill();
      await apf.exited;
    }
  });
});
