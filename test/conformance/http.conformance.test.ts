// The conformance suite (checks.ts) against the HTTP gateway: a real upstream service on loopback, fetch as
// the client, the service's API key injected by the gateway.
import { connect } from "node:net";
import type { Server } from "bun";
import { type HttpTestGateway, startHttpGateway } from "../http/support.ts";
import { freePort } from "../support/free-port.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type ClientResult, conformance } from "./checks.ts";

const API_KEY = "conformance-upstream-key-4be1";
let issuer: OidcIssuer;
let upstream: Server<undefined>;
let gw: HttpTestGateway;
const upstreamPaths: string[] = [];

async function asClient(url: string, token: string, init: RequestInit = {}): Promise<ClientResult> {
  const res = await fetch(url, { ...init, headers: { authorization: `Bearer ${token}` } });
  const head = [...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
  return {
    refused: res.status === 401 || res.status === 403,
    bytes: `${res.status}\n${head}\n\n${await res.text()}`,
  };
}

conformance(
  "http",
  async () => {
    issuer = await startOidcIssuer();
    upstream = Bun.serve({
      hostname: "127.0.0.1",
      port: await freePort(),
      fetch(req) {
        const url = new URL(req.url);
        upstreamPaths.push(url.pathname);
        if (req.headers.get("x-api-key") !== API_KEY) return new Response("no key", { status: 401 });
        return Response.json({ id: 3, note: "item-3" });
      },
    });
    gw = await startHttpGateway({
      issuer,
      env: { CONFORMANCE_KEY: API_KEY },
      connections: [
        {
          name: "items",
          type: "http",
          target: `http://127.0.0.1:${upstream.port}`,
          inject: { header: "x-api-key", value_env: "CONFORMANCE_KEY" },
          allow_groups: ["agents"],
        },
      ],
    });
    const agentToken = await gw.token("agent-conformance", ["agents"]);
    const base = `${gw.base}/c/items`;
    return {
      protocol: "http",
      connection: "items",
      gateway: gw.gw,
      dataDir: gw.dataDir,
      agentToken,
      agentSubject: "agent-conformance",
      endsWithClient: false,
      targetUser: "header",
      targetSecrets: [API_KEY],
      badToken: () => asClient(`${base}/items/3`, "not-a-token"),
      allowed: async () => ({ ...(await asClient(`${base}/items/3`, agentToken)), marker: "item-3" }),
      denied: () => asClient(`${base}/admin/wipe`, agentToken),
      deniedTookEffect: async () => upstreamPaths.some((p) => p.startsWith("/admin")),
      garbage: () =>
        new Promise<ClientResult>((resolve) => {
          const chunks: Buffer[] = [];
          const s = connect(gw.gw.httpPort, "127.0.0.1", () =>
            s.end(Buffer.from("\x16\x03\x01garbage\r\n\r\n")),
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
    upstream?.stop(true);
    await issuer?.stop();
  },
);
