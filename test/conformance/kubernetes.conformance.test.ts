// The conformance suite (checks.ts) against the Kubernetes front: a real kube-apiserver (and kubelet) from
// test/support/kube-cluster.ts, real kubectl with only the kubeconfig `custos kubeconfig` prints.
import { connect } from "node:tls";
import { type KubeGateway, type Run, startKubeGateway } from "../kubernetes/support.ts";
import { type KubeCluster, startKubeCluster } from "../support/kube-cluster.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type ClientResult, conformance } from "./checks.ts";

let cluster: KubeCluster;
let issuer: OidcIssuer;
let gw: KubeGateway;

const result = (r: Run): ClientResult => ({
  // kubectl's words for a 403 and a 401.
  refused: r.code !== 0 && /\(Forbidden\)|must be logged in to the server/i.test(r.stderr),
  bytes: `${r.stdout}\n${r.stderr}`,
});

conformance(
  "kubernetes",
  async () => {
    [cluster, issuer] = await Promise.all([startKubeCluster(), startOidcIssuer()]);
    const made = await cluster.admin(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          { apiVersion: "v1", kind: "Namespace", metadata: { name: "conformance" } },
          // The cluster's own RBAC lets the impersonated agents read; Custos's policy is what limits them.
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRoleBinding",
            metadata: { name: "conformance-agents" },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
            subjects: [{ kind: "Group", name: "agents", apiGroup: "rbac.authorization.k8s.io" }],
          },
          {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "marker", namespace: "conformance" },
            data: { value: "marker-value-5150" },
          },
        ],
      }),
    );
    if (made.code !== 0) throw new Error(made.stderr);
    gw = await startKubeGateway(cluster, issuer);
    const agentToken = await gw.token("agent-conformance", ["agents"]);
    const agent = await gw.kubeconfig(agentToken);
    return {
      protocol: "kubernetes",
      connection: "prod-cluster",
      gateway: gw.gw,
      dataDir: gw.dataDir,
      agentToken,
      agentSubject: "agent-conformance",
      endsWithClient: true,
      targetUser: "token",
      targetSecrets: [cluster.tokens.gateway, cluster.tokens.admin],
      badToken: async () =>
        result(
          await gw.kubectl(await gw.kubeconfig("not-a-token"), ["get", "configmaps", "-n", "conformance"]),
        ),
      allowed: async () => ({
        ...result(await gw.kubectl(agent, ["get", "configmap", "marker", "-n", "conformance", "-o", "yaml"])),
        marker: "marker-value-5150",
      }),
      denied: async () =>
        result(await gw.kubectl(agent, ["delete", "namespace", "conformance", "--wait=false"])),
      deniedTookEffect: async () => {
        const phase = await cluster.admin([
          "get",
          "namespace",
          "conformance",
          "-o",
          "jsonpath={.status.phase}",
        ]);
        return phase.code !== 0 || phase.stdout !== "Active";
      },
      garbage: () =>
        new Promise<ClientResult>((resolve) => {
          const chunks: Buffer[] = [];
          const s = connect({ host: "127.0.0.1", port: gw.port, rejectUnauthorized: false }, () =>
            s.end(Buffer.from("\x00\x01garbage\r\n\r\n")),
          );
          s.on("data", (d: Buffer) => chunks.push(d));
          s.on("error", () => {});
          s.on("close", () => {
            const bytes = Buffer.concat(chunks).toString("latin1");
            resolve({ refused: bytes.length === 0 || bytes.startsWith("HTTP/1.1 400"), bytes });
          });
        }),
    };
  },
  async () => {
    await gw?.stop();
    await issuer?.stop();
    await cluster?.stop();
  },
);
