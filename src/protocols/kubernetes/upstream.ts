// Requests to the API server with the gateway's own credential: node:https (not fetch) because the same
// path must carry upgrades, whose subprotocol tokens (`SPDY/3.1+portforward.k8s.io`) Bun's WebSocket
// client refuses, and because repeated headers (one Impersonate-Group per group) must stay repeated.
import type { ClientRequest, IncomingMessage } from "node:http";
import { Agent, request } from "node:https";
import type { Socket } from "node:net";
import { CustosError } from "../../core/errors.ts";
import type { KubernetesTarget } from "./target.ts";

const agents = new WeakMap<KubernetesTarget, Agent>();

/** One keep-alive agent per connection target: its CA, and its client certificate when it has one. */
function agentFor(target: KubernetesTarget): Agent {
  let agent = agents.get(target);
  if (!agent) {
    agent = new Agent({
      keepAlive: true,
      ca: target.ca,
      ...(target.clientCert && target.clientKey
        ? { cert: target.clientCert, key: target.clientKey.reveal() }
        : {}),
    });
    agents.set(target, agent);
  }
  return agent;
}

export interface UpstreamCall {
  req: ClientRequest;
  /** Resolves with the response head (or, for an upgrade, the 101 and the raw socket). */
  result: Promise<UpstreamResult>;
}

export type UpstreamResult =
  | { kind: "response"; res: IncomingMessage }
  | { kind: "upgrade"; res: IncomingMessage; socket: Socket; head: Buffer };

/** `pathAndQuery` is the canonical path below the connection plus the raw query ("?…" or ""). */
export function callUpstream(
  target: KubernetesTarget,
  method: string,
  pathAndQuery: string,
  headers: [string, string][],
  upgrade: boolean,
): UpstreamCall {
  const base = new URL(target.server);
  const grouped: Record<string, string | string[]> = {};
  for (const [k, v] of headers) {
    const had = grouped[k];
    grouped[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  const req = request({
    protocol: "https:",
    hostname: base.hostname.replace(/^\[|\]$/g, ""),
    port: base.port || 443,
    method,
    path: `${base.pathname.replace(/\/+$/, "")}${pathAndQuery}`,
    headers: grouped,
    // Upgraded sockets leave the pool; plain requests reuse it.
    agent: upgrade
      ? new Agent({
          ca: target.ca,
          ...(target.clientCert && target.clientKey
            ? { cert: target.clientCert, key: target.clientKey.reveal() }
            : {}),
        })
      : agentFor(target),
  });
  const result = new Promise<UpstreamResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      req.destroy();
      reject(
        new CustosError("upstream.timeout", `the API server did not answer within ${target.timeoutMs} ms`),
      );
    }, target.timeoutMs);
    req.once("response", (res) => {
      clearTimeout(timer);
      resolve({ kind: "response", res });
    });
    req.once("upgrade", (res, socket, head) => {
      clearTimeout(timer);
      resolve({ kind: "upgrade", res, socket: socket as Socket, head });
    });
    req.once("error", (err) => {
      clearTimeout(timer);
      reject(new CustosError("upstream.unreachable", `the API server is unreachable: ${err.message}`));
    });
  });
  // A rejection nobody awaits yet (the body is still being written) must not surface as unhandled.
  result.catch(() => {});
  return { req, result };
}
