// exec, attach and port-forward: authorized on the HTTP request like any other (the policy sees the
// command, container and ports in `params`), then the upgraded connection is relayed at the socket level
// while a copy is parsed for the recording: WebSocket channel messages (v4/v5.channel.k8s.io: one byte of
// channel, then data; k8s.io/apimachinery wsstream), port-forward channels, and SPDY/3.1 data frames
// (legacy upgrades and the port-forward tunnel inside WebSocket). For a masked caller, exec output
// (stdout, stderr) goes through the decision's detectors message by message; port-forward carries bytes
// no masker reads, so it is refused for a masked caller (ENFORCEMENT.md §5).
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { nowMicros } from "../../core/clock.ts";
import type { Command } from "../../core/command.ts";
import { type Decision, deny } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { UpgradeKind } from "./command.ts";
import type { ExchangeContext } from "./exchange.ts";
import { readBody } from "./exchange.ts";
import { UPGRADE_RESPONSE_HEADERS, upstreamHeaders } from "./headers.ts";
import { callerOf } from "./impersonation.ts";
import { maskDocument } from "./mask.ts";
import { authorize, buildCommand, type Routed } from "./prepare.ts";
import type { KubeSession } from "./sessions.ts";
import { type StreamRecorder, streamRecorder } from "./stream-record.ts";
import { callUpstream } from "./upstream.ts";
import { errorStatus } from "./wire-error.ts";

// The stream protocols relayed, per subresource (k8s.io/apimachinery remotecommand and portforward
// constants). Base64 variants are not: their text frames would need a second decoder for recording.
const WEBSOCKET_PROTOCOLS: Record<string, ReadonlySet<string>> = {
  exec: new Set(["v5.channel.k8s.io", "v4.channel.k8s.io"]),
  attach: new Set(["v5.channel.k8s.io", "v4.channel.k8s.io"]),
  portforward: new Set(["SPDY/3.1+portforward.k8s.io", "portforward.k8s.io"]),
};
const SPDY_PROTOCOLS: Record<string, ReadonlySet<string>> = {
  exec: new Set(["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"]),
  attach: new Set(["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"]),
  portforward: new Set(["portforward.k8s.io"]),
};

export async function streamUpgrade(
  ctx: ExchangeContext,
  req: IncomingMessage,
  client: Socket,
  head: Buffer,
  routed: Routed,
  kube: KubeSession,
): Promise<void> {
  const started = nowMicros();
  const session = kube.session;
  const target = session.connection.target;
  const method = req.method ?? "GET";
  kube.stats.commands++;

  // 1. Only the stream subresources upgrade, and only with protocols the relay can record.
  const upgradeHeader = (req.headers.upgrade ?? "").toLowerCase();
  const kind: UpgradeKind | null =
    upgradeHeader === "websocket" ? "websocket" : upgradeHeader === "spdy/3.1" ? "spdy" : null;
  const sub = routed.info.subresource;
  const refuseEarly = (err: CustosError) => {
    const command: Command = {
      protocol: "kubernetes",
      text: `${method} ${routed.path} (upgrade ${upgradeHeader || "none"})`,
      keyword: routed.info.verb,
      shape: `malformed-upgrade:${routed.path}`,
    };
    session.completed(command, deny(err.message, "custos.kube_upgrade"), {
      tag: String(errorStatus(err).status),
      rows: 0,
      durationUs: nowMicros() - started,
      error: { code: err.code, message: err.message },
    });
    writeRawError(client, err);
  };
  if (kind === null)
    return refuseEarly(
      new CustosError("protocol.unsupported", `the upgrade ${JSON.stringify(upgradeHeader)} is not relayed`),
    );
  const allowed = (kind === "websocket" ? WEBSOCKET_PROTOCOLS : SPDY_PROTOCOLS)[sub];
  if (!routed.info.isResourceRequest || !allowed)
    return refuseEarly(
      new CustosError("protocol.unsupported", "upgrades are relayed for exec, attach and portforward only"),
    );
  const headerName = kind === "websocket" ? "sec-websocket-protocol" : "x-stream-protocol-version";
  const offered = offeredProtocols(req.rawHeaders, headerName);
  const kept = offered.filter((p) => allowed.has(p));
  if (kept.length === 0)
    return refuseEarly(
      new CustosError(
        "protocol.unsupported",
        `none of the offered stream protocols (${offered.join(", ") || "none"}) is relayed`,
      ),
    );

  // 2. Decide, as the policy sees the stream: the command, container, ports, the protocols.
  const command = buildCommand(routed, method, null, { upgrade: kind, stream_protocols: kept });
  if (command instanceof CustosError) return refuseEarly(command);
  // Agents are always masked (Secret values at least): their port-forward is refused before anyone is
  // asked to approve a tunnel it could never use. Other masked callers learn it from their decision.
  const unmaskable = () =>
    deny(
      "port-forward carries bytes no masker reads; not relayed to a masked caller",
      "custos.mask_unavailable",
    );
  let { decision, plan } =
    sub === "portforward" && session.identity.kind === "agent"
      ? { decision: unmaskable(), plan: null }
      : await authorize(kube, command, ctx.masking, ctx.logger, null);
  if (decision.action === "allow" && plan && sub === "portforward") decision = unmaskable();
  session.record({
    t: started,
    dir: "client",
    kind: "upgrade",
    data: { method, path: routed.path, query: routed.search, protocols: kept, text: command.text },
  });
  if (decision.action !== "allow") return refuseDecided(kube, client, command, decision, started);
  if (decision.record === "sync") await session.durable();

  // 3. The upstream upgrade, with the gateway's credential and only the kept protocols offered.
  const caller = target.impersonate ? callerOf(session.identity) : null;
  if (caller instanceof CustosError) return refuseEarly(caller);
  const raw = withoutHeader(req.rawHeaders, headerName);
  const headers = upstreamHeaders(raw, { token: target.token?.reveal() ?? null }, caller, { upgrade: true });
  if (headers instanceof CustosError) return refuseEarly(headers);
  // No body follows the upgrade request: said so, or node would frame the POST as chunked and the
  // terminating chunk would reach the upgraded stream as data.
  if (method !== "GET" && method !== "HEAD") headers.push(["content-length", "0"]);
  if (kind === "websocket") headers.push([headerName, kept.join(", ")]);
  else for (const p of kept) headers.push([headerName, p]);
  const call = callUpstream(target, method, `${routed.path}${routed.search}`, headers, true);
  call.req.end();
  let result: Awaited<typeof call.result>;
  try {
    result = await call.result;
  } catch (err) {
    const e = err instanceof CustosError ? err : new CustosError("upstream.unreachable", String(err));
    session.event("upstream.error", {
      connection: session.connection.name,
      code: e.code,
      message: e.message,
    });
    return failDecided(kube, client, command, decision, started, e);
  }
  if (result.kind === "response") {
    // The API server refused the upgrade (RBAC, no such pod, a bad handshake): its answer, masked when it
    // must be, and the connection ends.
    const status = result.res.statusCode ?? 502;
    const body = await readBody(result.res, 64 << 10);
    let bytes = body instanceof CustosError ? new Uint8Array(0) : body;
    if (plan && bytes.length > 0) {
      try {
        bytes = maskDocument(plan, bytes);
      } catch {
        bytes = new TextEncoder().encode(errorStatus(new CustosError("upstream.protocol", "refused")).body);
      }
    }
    client.end(
      Buffer.concat([
        Buffer.from(
          `HTTP/1.1 ${status} ${result.res.statusMessage ?? ""}\r\ncontent-type: application/json\r\ncontent-length: ${bytes.length}\r\nconnection: close\r\n\r\n`,
        ),
        Buffer.from(bytes),
      ]),
    );
    session.completed(command, decision, {
      tag: String(status),
      rows: 0,
      durationUs: nowMicros() - started,
      detail: { status, upgrade: kind },
    });
    return;
  }

  // 4. Relay: the 101 (allow-listed headers), then both directions.
  const up = result.socket;
  const lines = [`HTTP/1.1 101 ${result.res.statusMessage ?? "Switching Protocols"}`];
  const rh = result.res.rawHeaders;
  let chosen = "";
  for (let i = 0; i + 1 < rh.length; i += 2) {
    const name = rh[i]!.toLowerCase();
    if (!UPGRADE_RESPONSE_HEADERS.has(name)) continue;
    if (name === headerName) chosen = rh[i + 1]!;
    lines.push(`${rh[i]}: ${rh[i + 1]}`);
  }
  client.write(`${lines.join("\r\n")}\r\n\r\n`);
  const recorder = streamRecorder({
    session,
    kind,
    protocol: chosen,
    plan,
    maxFrame: Math.max(target.limits.maskBody, 1 << 20),
  });
  session.record({
    t: nowMicros(),
    dir: "server",
    kind: "upgraded",
    data: { protocol: chosen, upgrade: kind },
  });
  await relay(kube, client, up, head, result.head, recorder);
  const outcome = recorder.outcome();
  session.completed(command, decision, {
    tag: "101",
    rows: 0,
    durationUs: nowMicros() - started,
    ...(outcome.error ? { error: { code: "upstream.protocol", message: outcome.error } } : {}),
    detail: { status: 101, upgrade: kind, protocol: chosen, ...outcome.detail },
  });
}

/** Pumps both directions until either side ends, honouring backpressure and the recording's backlog. */
async function relay(
  kube: KubeSession,
  client: Socket,
  up: Socket,
  clientHead: Buffer,
  upHead: Buffer,
  recorder: StreamRecorder,
): Promise<void> {
  const session = kube.session;
  await new Promise<void>((resolve) => {
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      client.destroy();
      up.destroy();
      resolve();
    };
    const pump = (from: Socket, to: Socket, dir: "client" | "server") => (chunk: Buffer) => {
      let out: Uint8Array;
      try {
        out = recorder.push(dir, chunk);
      } catch (err) {
        recorder.fail(err instanceof Error ? err.message : String(err));
        end();
        return;
      }
      if (dir === "client") kube.stats.bytesFromClient += chunk.length;
      else kube.stats.bytesToClient += out.length;
      if (out.length > 0 && !to.write(out)) {
        from.pause();
        to.once("drain", () => from.resume());
      }
      const backlog = session.recordingBacklog();
      if (backlog) {
        from.pause();
        void backlog.then(() => from.resume());
      }
    };
    client.on("data", pump(client, up, "client"));
    up.on("data", pump(up, client, "server"));
    for (const s of [client, up]) {
      s.once("close", end);
      s.once("error", end);
      s.once("end", end);
    }
    if (clientHead.length > 0) pump(client, up, "client")(clientHead);
    if (upHead.length > 0) pump(up, client, "server")(upHead);
  });
}

function offeredProtocols(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2)
    if (raw[i]!.toLowerCase() === name)
      for (const p of raw[i + 1]!.split(",")) if (p.trim()) out.push(p.trim());
  return out;
}

function withoutHeader(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2)
    if (raw[i]!.toLowerCase() !== name) out.push(raw[i]!, raw[i + 1]!);
  return out;
}

/** An HTTP/1.1 error response written on a socket that was never upgraded, then closed. */
export function writeRawError(socket: Socket, err: CustosError): void {
  const { status, body } = errorStatus(err);
  const auth = status === 401 ? 'www-authenticate: Bearer realm="custos"\r\n' : "";
  socket.end(
    `HTTP/1.1 ${status} ${REASON_PHRASES[status] ?? "Error"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${auth}connection: close\r\n\r\n${body}`,
  );
}

const REASON_PHRASES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

function refuseDecided(
  kube: KubeSession,
  client: Socket,
  command: Command,
  decision: Decision,
  started: number,
) {
  const err = new CustosError(
    decision.approval ? "approval.denied" : "policy.denied",
    `${decision.reason} (rule ${decision.rule})`,
  );
  failDecided(kube, client, command, decision, started, err);
}

function failDecided(
  kube: KubeSession,
  client: Socket,
  command: Command,
  decision: Decision,
  started: number,
  err: CustosError,
) {
  writeRawError(client, err);
  kube.session.completed(command, decision, {
    tag: String(errorStatus(err).status),
    rows: 0,
    durationUs: nowMicros() - started,
    error: { code: err.code, message: err.message },
  });
}
