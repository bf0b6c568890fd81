// One REST request through the gateway, as narrated steps: read the body within the bound, decide (and
// wait for review), record the request (durably first when the decision asks), forward with the gateway's
// credential and the caller impersonated, then relay the response: raw when nothing needs masking, else a
// JSON document masked whole, a watch stream masked event by event, or logs through the detectors; any
// other media type is refused for a masked caller. The audit event is written when the response ends.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { nowMicros } from "../../core/clock.ts";
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { RESPONSE_HEADERS, upstreamHeaders } from "./headers.ts";
import { callerOf } from "./impersonation.ts";
import { isJsonType, maskDocument, maskLogStream, maskWatchStream, mediaType } from "./mask.ts";
import { authorize, type Body, buildCommand, type Routed } from "./prepare.ts";
import { recordableBody } from "./secret-mask.ts";
import type { KubeSession } from "./sessions.ts";
import { callUpstream } from "./upstream.ts";
import { errorStatus } from "./wire-error.ts";

export interface ExchangeContext {
  masking: MaskingEngine;
  logger: Logger;
}

const decoder = new TextDecoder();

export async function exchange(
  ctx: ExchangeContext,
  req: IncomingMessage,
  res: ServerResponse,
  routed: Routed,
  kube: KubeSession,
): Promise<void> {
  const started = nowMicros();
  const session = kube.session;
  const target = session.connection.target;
  const method = req.method ?? "GET";
  kube.stats.commands++;

  // 1. The body, within the policy's bound (the API server's own limit is 3 MiB).
  let body: Body | null = null;
  const read = await readBody(req, target.limits.policyBody);
  if (read instanceof CustosError) return refuseUndecided(kube, res, routed, method, started, read);
  if (read.length > 0) body = { bytes: read, type: mediaType(req.headers["content-type"] ?? null) };
  kube.stats.bytesFromClient += read.length;

  // 2. The command and its decision.
  const command = buildCommand(routed, method, body, {});
  if (command instanceof CustosError) return refuseUndecided(kube, res, routed, method, started, command);
  const digest = body ? new Bun.CryptoHasher("sha256").update(body.bytes).digest("hex") : null;
  const { decision, plan } = await authorize(kube, command, ctx.masking, ctx.logger, digest);
  session.record({
    t: started,
    dir: "client",
    kind: "request",
    data: { method, path: routed.path, query: routed.search, text: command.text },
  });
  if (decision.action !== "allow") return refuse(kube, res, command, decision, started);
  if (decision.record === "sync") await session.durable();

  // 3. Forward.
  const caller = target.impersonate ? callerOf(session.identity) : null;
  if (caller instanceof CustosError)
    return refuse(kube, res, command, decisionFor(decision, caller), started);
  const headers = upstreamHeaders(req.rawHeaders, { token: target.token?.reveal() ?? null }, caller, {
    upgrade: false,
  });
  if (headers instanceof CustosError)
    return refuse(kube, res, command, decisionFor(decision, headers), started);
  if (body) headers.push(["content-length", String(body.bytes.length)]);
  else if (method === "POST" || method === "PUT" || method === "PATCH") headers.push(["content-length", "0"]);
  const call = callUpstream(target, method, `${routed.path}${routed.search}`, headers, false);
  call.req.end(body ? Buffer.from(body.bytes) : undefined);
  let up: IncomingMessage;
  try {
    const r = await call.result;
    if (r.kind !== "response") {
      r.socket.destroy();
      throw new CustosError("upstream.protocol", "the API server upgraded a plain request");
    }
    up = r.res;
  } catch (err) {
    const e = err instanceof CustosError ? err : new CustosError("upstream.unreachable", String(err));
    session.event("upstream.error", {
      connection: session.connection.name,
      code: e.code,
      message: e.message,
    });
    return fail(kube, res, command, decision, started, e);
  }

  // 4. Relay the response.
  const status = up.statusCode ?? 502;
  const contentType = up.headers["content-type"] ?? null;
  const outHeaders: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(up.headers))
    if (RESPONSE_HEADERS.has(k) && v !== undefined) outHeaders[k] = v;
  const recorded: Uint8Array[] = [];
  let recordedBytes = 0;
  const keep = (chunk: Uint8Array) => {
    if (recordedBytes >= target.limits.recordBody) return;
    const part = chunk.subarray(0, target.limits.recordBody - recordedBytes);
    recorded.push(part);
    recordedBytes += part.length;
  };
  let outcomeError: CustosError | null = null;
  let bytesOut = 0;
  const finish = () => {
    kube.stats.bytesToClient += bytesOut;
    session.record({
      t: nowMicros(),
      dir: "server",
      kind: "response",
      data: {
        status,
        content_type: contentType,
        // Secret values never enter the recording, whoever read them.
        body: recordableBody(
          decoder.decode(concat(recorded, recordedBytes)),
          routed.info.apiGroup === "" && routed.info.resource === "secrets",
        ),
        ...(recordedBytes >= target.limits.recordBody ? { truncated: true } : {}),
      },
    });
    session.completed(command, decision, {
      tag: String(status),
      rows: 0,
      durationUs: nowMicros() - started,
      ...(outcomeError ? { error: { code: outcomeError.code, message: outcomeError.message } } : {}),
      detail: {
        status,
        bytes_in: body?.bytes.length ?? 0,
        bytes_out: bytesOut,
        ...(plan ? { masked: { secret_values: plan.secretValues, ...plan.evidence } } : {}),
      },
    });
  };

  const noBody = method === "HEAD" || status === 204 || status === 304;
  if (!plan || noBody) {
    res.writeHead(status, outHeaders);
    up.on("data", (chunk: Buffer) => {
      bytesOut += chunk.length;
      keep(chunk);
    });
    up.pipe(res);
    await ended(up, res);
    finish();
    return;
  }
  const type = mediaType(contentType);
  const json = isJsonType(contentType);
  // A watch answers `application/json;stream=watch`, or plain `application/json` to some Accept headers
  // (kubectl get --raw): the request's verb says it too.
  const watch =
    json && (/stream=watch/i.test(contentType ?? "") || (routed.info.verb === "watch" && status === 200));
  const secretsResource = routed.info.apiGroup === "" && routed.info.resource === "secrets";
  let transform: TransformStream<Uint8Array, Uint8Array> | null = null;
  if (watch) transform = maskWatchStream(plan, target.limits.maskBody);
  else if (type === "text/plain" && (plan.plans || !secretsResource)) {
    // Container logs, and the API server's plain-text answers (a 404 page): through the detectors when
    // the decision names some; text is never a Secret object, so without detectors it passes.
    transform = maskLogStream(plan, target.limits.maskBody);
  } else if (!json) {
    up.destroy();
    outcomeError = new CustosError(
      "upstream.protocol",
      `a ${type || "typeless"} response cannot be masked; it is not relayed to a masked caller`,
    );
    sendError(res, outcomeError);
    finish();
    return;
  }
  if (json && !watch) {
    // A JSON document: masked whole, within the bound.
    const whole = await readBody(up, target.limits.maskBody);
    try {
      if (whole instanceof CustosError) throw whole;
      const masked = maskDocument(plan, whole);
      outHeaders["content-length"] = String(masked.length);
      res.writeHead(status, outHeaders);
      res.end(Buffer.from(masked));
      bytesOut = masked.length;
      keep(masked);
    } catch (err) {
      outcomeError = err instanceof CustosError ? err : new CustosError("upstream.protocol", String(err));
      sendError(res, outcomeError);
    }
    finish();
    return;
  }
  // A stream (watch events, followed logs): masked as it flows, each piece sent as soon as it is safe.
  res.writeHead(status, outHeaders);
  res.flushHeaders();
  const source = Readable.toWeb(up) as ReadableStream<Uint8Array>;
  const reader = (transform ? source.pipeThrough(transform) : source).getReader();
  // kubectl going away (a watch or `logs -f` interrupted) ends the upstream request too.
  let clientGone = false;
  const gone = new Promise<void>((resolve) =>
    res.once("close", () => {
      clientGone = true;
      up.destroy();
      resolve();
    }),
  );
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || clientGone) break;
      bytesOut += value.length;
      keep(value);
      if (!res.write(value)) await Promise.race([new Promise((r) => res.once("drain", r)), gone]);
    }
    if (!clientGone) res.end();
  } catch (err) {
    if (!clientGone) {
      outcomeError = err instanceof CustosError ? err : new CustosError("upstream.protocol", String(err));
      // Mid-stream the status is sent: ending the connection is the only honest signal left.
      up.destroy();
      res.destroy();
    }
  }
  finish();
}

function decisionFor(d: Decision, err: CustosError): Decision {
  return { ...d, action: "deny", reason: err.message, rule: "custos.kube_header" };
}

async function ended(up: IncomingMessage, res: ServerResponse): Promise<void> {
  await new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve();
    };
    res.once("finish", finish);
    res.once("close", () => {
      up.destroy();
      finish();
    });
    up.once("error", () => {
      res.destroy();
      finish();
    });
  });
}

/** Reads a body within `bound` bytes; past it, a CustosError and the rest is not read. */
export function readBody(stream: IncomingMessage, bound: number): Promise<Uint8Array | CustosError> {
  const declared = Number(stream.headers["content-length"] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > bound) {
    stream.resume();
    return Promise.resolve(new CustosError("protocol.too_large", `the body exceeds ${bound} bytes`));
  }
  return new Promise((resolve) => {
    const parts: Uint8Array[] = [];
    let size = 0;
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > bound) {
        stream.destroy();
        resolve(new CustosError("protocol.too_large", `the body exceeds ${bound} bytes`));
        return;
      }
      parts.push(chunk);
    });
    stream.once("end", () => resolve(concat(parts, size)));
    stream.once("error", (err) => resolve(new CustosError("protocol.malformed", String(err))));
  });
}

function sendError(res: ServerResponse, err: CustosError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, body } = errorStatus(err);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function refuse(
  kube: KubeSession,
  res: ServerResponse,
  command: Command,
  decision: Decision,
  started: number,
) {
  const code =
    decision.rule === "custos.approval_unavailable" || decision.approval
      ? "approval.denied"
      : decision.rule === "custos.kube_header"
        ? "access.forbidden"
        : "policy.denied";
  const err = new CustosError(code, `${decision.reason} (rule ${decision.rule})`);
  sendError(res, err);
  const { status } = errorStatus(err);
  kube.session.completed(command, decision, {
    tag: String(status),
    rows: 0,
    durationUs: nowMicros() - started,
    error: { code: err.code, message: err.message },
    detail: { status },
  });
}

function fail(
  kube: KubeSession,
  res: ServerResponse,
  command: Command,
  decision: Decision,
  started: number,
  err: CustosError,
) {
  sendError(res, err);
  const { status } = errorStatus(err);
  kube.session.completed(command, decision, {
    tag: String(status),
    rows: 0,
    durationUs: nowMicros() - started,
    error: { code: err.code, message: err.message },
    detail: { status },
  });
}

/** Refused before a decision (bad body): audited as a denied command of the session. */
function refuseUndecided(
  kube: KubeSession,
  res: ServerResponse,
  routed: Routed,
  method: string,
  started: number,
  err: CustosError,
) {
  const command: Command = {
    protocol: "kubernetes",
    text: `${method} ${routed.path}`,
    keyword: routed.info.verb,
    shape: `malformed:${method}:${routed.path}`,
  };
  const decision: Decision = {
    action: "deny",
    reason: err.message,
    rule: "custos.kube_malformed",
    record: "sync",
    mask: [],
  };
  fail(kube, res, command, decision, started, err);
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
