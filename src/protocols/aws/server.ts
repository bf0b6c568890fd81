// The AWS listener (listen.aws, the agent's endpoint_url) and the credential endpoint on listen.http
// (`POST /aws/credentials`, what `custos aws credentials` calls). Each API call goes to exchange.ts.
import type { Server } from "bun";
import { CustosError } from "../../core/errors.ts";
import type { ConnectionInfo } from "../../core/session.ts";
import { listenersShared } from "../../net/listen.ts";
import type { ProtocolContext, RunningProtocol } from "../registry.ts";
import { mountedConnection, splitTarget } from "./addressing.ts";
import { UpstreamCredentialCache } from "./assume-role.ts";
import { exchange } from "./exchange.ts";
import { CredentialRegistry, credentialKey } from "./session.ts";
import type { AwsTarget } from "./target.ts";
import type { ReplayGuard } from "./verify.ts";

export const CREDENTIALS_PATH = "/aws/credentials";

const STATUS: Partial<Record<string, number>> = {
  "identity.missing": 401,
  "identity.malformed": 401,
  "identity.invalid": 401,
  "identity.expired": 401,
  "identity.untrusted_issuer": 401,
  "identity.wrong_audience": 401,
  "access.unknown_connection": 404,
  "access.forbidden": 403,
  "access.no_grant": 403,
  "session.limit": 429,
  "audit.unavailable": 503,
};

function problem(e: CustosError): Response {
  return Response.json({ error: { code: e.code, message: e.message } }, { status: STATUS[e.code] ?? 403 });
}

export async function startAwsServer(
  ctx: ProtocolContext,
  connections: ConnectionInfo<AwsTarget>[],
): Promise<RunningProtocol> {
  const targets = new Map(connections.map((c) => [c.name, c.target]));
  const registry = new CredentialRegistry(ctx.gateway, credentialKey(ctx.dataDir), targets);
  const replay = new Map<string, ReplayGuard>();
  const names = new Set(connections.map((c) => c.name));
  const virtualHosts = new Map<string, string>();
  for (const c of connections)
    if (c.target.virtualHostBase) virtualHosts.set(c.target.virtualHostBase, c.name);
  let closing = false;
  // biome-ignore lint/suspicious/noExplicitAny: set once the listener exists.
  let server: Server<any> | null = null;
  const exchangeContext = {
    gateway: ctx.gateway,
    masking: ctx.masking,
    logger: ctx.logger,
    registry,
    upstreamCredentials: new UpstreamCredentialCache(),
    targets,
    replay,
    virtualHosts,
    holdOpen: (req: Request) => server?.timeout(req, 0),
    clientAddr: (req: Request) => {
      const a = server?.requestIP(req);
      return a ? `${a.address}:${a.port}` : "unknown";
    },
  };
  if (ctx.listen !== null) {
    server = Bun.serve({
      hostname: ctx.listen.host,
      port: ctx.listen.port,
      reusePort: listenersShared(),
      // S3's largest single PUT; bodies stream, so this bounds nothing in memory.
      maxRequestBodySize: 5 * 1024 ** 3,
      idleTimeout: 120,
      fetch: async (req) => {
        if (closing) return new Response("the gateway is shutting down", { status: 503 });
        try {
          return await exchange(exchangeContext, req);
        } catch (err) {
          ctx.logger.error("aws call failed", { error: (err as Error).message });
          return new Response("internal error", { status: 500 });
        }
      },
    });
  }
  const mint = async (req: Request, srv: Server<unknown>): Promise<Response> => {
    if (req.method !== "POST") return new Response(null, { status: 405, headers: { allow: "POST" } });
    const auth = req.headers.get("authorization") ?? "";
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (!m)
      return problem(
        new CustosError("identity.missing", "an identity token is required: Authorization: Bearer <token>"),
      );
    let connection: unknown;
    try {
      connection = ((await req.json()) as { connection?: unknown }).connection;
    } catch {
      return problem(new CustosError("protocol.malformed", 'the body must be JSON: {"connection": NAME}'));
    }
    if (typeof connection !== "string")
      return problem(new CustosError("protocol.malformed", 'the body must be JSON: {"connection": NAME}'));
    const ip = srv.requestIP(req);
    const minted = await registry.mint(connection, m[1]!, ip ? `${ip.address}:${ip.port}` : "unknown");
    if (minted instanceof CustosError) return problem(minted);
    return Response.json(minted, { headers: { "cache-control": "no-store" } });
  };
  return {
    port: server?.port ?? null,
    fetch(req, srv) {
      const { rawPath } = splitTarget(req.url);
      if (rawPath === CREDENTIALS_PATH) return mint(req, srv);
      // listen.http serves each connection at /aws/<connection>/ (the client's endpoint_url says so).
      const mounted = mountedConnection(rawPath, names);
      if (mounted === null) return undefined;
      if (closing) return new Response("the gateway is shutting down", { status: 503 });
      const onHttp = {
        ...exchangeContext,
        holdOpen: (r: Request) => srv.timeout(r, 0),
        clientAddr: (r: Request) => {
          const a = srv.requestIP(r);
          return a ? `${a.address}:${a.port}` : "unknown";
        },
      };
      return exchange(onHttp, req, mounted).catch((err) => {
        ctx.logger.error("aws call failed", { error: (err as Error).message });
        return new Response("internal error", { status: 500 });
      });
    },
    async stop(graceMs) {
      closing = true;
      await registry.closeAll("shutdown");
      if (server) await Promise.race([server.stop(false), Bun.sleep(graceMs)]).then(() => server?.stop(true));
    },
  };
}
