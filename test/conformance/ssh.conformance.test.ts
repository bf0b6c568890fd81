// The conformance suite (checks.ts) against the SSH gateway: a real sshd on loopback, OpenSSH's ssh (typed
// password through sshpass) as the client, the target's private key held by the gateway.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type SshFixture, startSshFixture, viaGateway } from "../ssh/support.ts";
import { type ClientResult, conformance } from "./checks.ts";

let f: SshFixture;

conformance(
  "ssh",
  async () => {
    f = await startSshFixture();
    const agentToken = await f.token("agent-conformance", ["agents"]);
    const marker = join(f.sshd.dir, "marker.txt");
    writeFileSync(marker, "conformance-marker-5e1\n");
    const canary = join(f.sshd.dir, "canary.txt");
    writeFileSync(canary, "canary\n");
    const key = readFileSync(f.sshd.clientKeyFile, "utf8");
    const asClient = async (token: string, command: string): Promise<ClientResult> => {
      const r = await viaGateway(f, token, "ssh", [command]);
      return { refused: r.code === 126 || r.code === 5 || r.code === 255, bytes: r.all };
    };
    return {
      protocol: "ssh",
      connection: "build-host",
      gateway: f.gw,
      dataDir: f.dataDir,
      agentToken,
      agentSubject: "agent-conformance",
      endsWithClient: true,
      targetUser: f.sshd.user,
      // The private key the gateway holds, whole and its base64 body's longest line.
      targetSecrets: [key.trim(), key.split("\n")[2]!],
      badToken: () => asClient("not-a-token", `cat ${marker}`),
      allowed: async () => ({
        ...(await asClient(agentToken, `cat ${marker}`)),
        marker: "conformance-marker-5e1",
      }),
      denied: () => asClient(agentToken, `cat ${marker}; rm -f ${canary}`),
      deniedTookEffect: async () => !existsSync(canary),
      garbage: () =>
        new Promise<ClientResult>((resolve) => {
          let bytes = "";
          void Bun.connect({
            hostname: "127.0.0.1",
            port: f.sshPort,
            socket: {
              open(s) {
                s.write("GET / HTTP/1.1\r\n\r\n\u0000\u0001garbage\r\n");
              },
              data(_s, d) {
                bytes += Buffer.from(d).toString("latin1");
              },
              close() {
                resolve({ refused: true, bytes });
              },
              error() {
                resolve({ refused: true, bytes });
              },
            },
          });
        }),
    };
  },
  async () => {
    await f?.stop();
  },
);
