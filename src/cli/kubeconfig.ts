// `custos kubeconfig` prints a kubeconfig that points kubectl at the gateway (its CA embedded, the
// connection's /c/<name> prefix in the server URL) with the caller's own identity token, inline or through
// the `custos kube-token` credential plugin; `custos kube-token` is that plugin (client.authentication.k8s.io
// ExecCredential on stdout). kubectl then needs nothing else: no cluster CA, no cluster credential.
import { stringify } from "yaml";
import { loadConfig } from "../config/load.ts";
import { loadOrCreateTlsMaterial } from "../net/tls-material.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";

export const kubeconfigCommand: CliCommand = {
  name: "kubeconfig",
  summary: "print a kubeconfig that reaches a kubernetes connection through the gateway",
  usage: `usage: custos kubeconfig --config FILE --connection NAME (--token T | --exec) [--server URL]

Prints a kubeconfig: cluster = the gateway (https://<listen.kubernetes>/c/NAME, or --server) with the
gateway's TLS certificate as its CA; user = the identity token itself (--token, or $CUSTOS_TOKEN), or with
--exec the credential plugin \`custos kube-token\`, which reads $CUSTOS_TOKEN or --token-file when kubectl
runs it; context named after the connection and selected.`,
  async run(argv) {
    const { flags } = parseFlags(argv, {
      config: "string",
      connection: "string",
      token: "string",
      exec: "boolean",
      "token-file": "string",
      server: "string",
    });
    if (typeof flags.config !== "string") throw new CliError("kubeconfig needs --config FILE", 2);
    if (typeof flags.connection !== "string") throw new CliError("kubeconfig needs --connection NAME", 2);
    const config = loadConfig(flags.config, process.env, { secrets: false });
    const name = flags.connection;
    const conn = config.protocolConnections.find((c) => c.name === name);
    if (!conn || conn.type !== "kubernetes")
      throw new CliError(`no kubernetes connection named "${name}" in ${flags.config}`);
    const listen = config.listen.protocols.kubernetes ?? { host: "127.0.0.1", port: 6443 };
    const host = ["0.0.0.0", "::", ""].includes(listen.host) ? "127.0.0.1" : listen.host;
    const server =
      typeof flags.server === "string"
        ? `${flags.server.replace(/\/+$/, "")}/c/${name}`
        : `https://${host.includes(":") ? `[${host}]` : host}:${listen.port}/c/${name}`;
    const tls = await loadOrCreateTlsMaterial({
      certFile: config.tls?.certFile,
      keyFile: config.tls?.keyFile,
      dataDir: config.dataDir,
    });
    const token = typeof flags.token === "string" ? flags.token : process.env.CUSTOS_TOKEN;
    let user: Record<string, unknown>;
    if (flags.exec) {
      const args = ["kube-token"];
      if (typeof flags["token-file"] === "string") args.push("--token-file", flags["token-file"]);
      user = {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: process.env.CUSTOS_BIN ?? "custos",
          args,
          interactiveMode: "Never",
          provideClusterInfo: false,
        },
      };
    } else {
      if (!token) throw new CliError("kubeconfig needs --token T (or $CUSTOS_TOKEN), or --exec", 2);
      user = { token };
    }
    const kubeconfig = {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name,
          cluster: { server, "certificate-authority-data": Buffer.from(tls.cert).toString("base64") },
        },
      ],
      users: [{ name: `custos-${name}`, user }],
      contexts: [{ name, context: { cluster: name, user: `custos-${name}` } }],
      "current-context": name,
    };
    process.stdout.write(stringify(kubeconfig));
    return 0;
  },
};

export const kubeTokenCommand: CliCommand = {
  name: "kube-token",
  summary: "kubectl credential plugin: print the identity token as an ExecCredential",
  usage: `usage: custos kube-token [--token-file FILE]

kubectl runs it (see custos kubeconfig --exec). Prints an ExecCredential (client.authentication.k8s.io/v1)
holding $CUSTOS_TOKEN, or the contents of --token-file (read each time, so a refreshed token is used).`,
  async run(argv) {
    const { flags } = parseFlags(argv, { "token-file": "string" });
    const file = flags["token-file"];
    const token =
      typeof file === "string"
        ? (await Bun.file(file).text()).trim()
        : (process.env.CUSTOS_TOKEN ?? "").trim();
    if (!token) throw new CliError("kube-token: no token ($CUSTOS_TOKEN or --token-file)", 1);
    process.stdout.write(
      `${JSON.stringify({
        apiVersion: "client.authentication.k8s.io/v1",
        kind: "ExecCredential",
        status: { token },
      })}\n`,
    );
    return 0;
  },
};
