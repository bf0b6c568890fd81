// One HTTP exchange through the gateway, as narrated steps: authenticate (via the session pool), turn
// the request into a command, decide, record (durably first when the decision asks), inject the
// service's credential, forward, then relay the response (masked when the decision names fields) and
// write the command's audit event when the body has been delivered or abandoned.

import { nowMicros } from "../../core/clock.ts";
import type { Command, HttpRequestInfo } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { type Bounded, declaredLength, head, readBounded, tap, WHOLE_BODY_MAX } from "./body.ts";
import { forwardRequestHeaders, policyHeaders, recordedHeaders } from "./headers.ts";
import { type JsonMasker, jsonMasker } from "./mask.ts";
import { relayResponse } from "./response.ts";
import type { RequestHold } from "./sessions.ts";
import { applyInjection, type HttpTarget, injectedHeader } from "./target.ts";
import { problemResponse } from "./wire-error.ts";

export interface ExchangeContext {
  masking: MaskingEngine;
  logger: Logger;
}

const decoder = new TextDecoder();

/** `rest` is the path below /c/<name> ("" or starting with "/"); `search` includes its "?". */
export async function exchange(
  ctx: ExchangeContext,
  req: Request,
  hold: RequestHold,
  name: string,
  rest: string,
  search: string,
): Promise<Response> {
  const started = nowMicros();
  const pooled = hold.pooled;
  const { session, stats } = pooled;
  const target = session.connection.target;
  // 1. The command, as the policy will see it.
  const { command, http, path, cleanSearch, injected } = requestCommand(req, target, rest, search);
  let body: ReadableStream<Uint8Array> | Uint8Array | null = hasBody(req) ? req.body : null;
  let bodyHead: Uint8Array | undefined;
  const declared = body ? declaredLength(req.headers) : null;
  if (body instanceof ReadableStream && isJsonRequest(req)) {
    // Within the policy's bound and of declared length: one native read (Bun enforces the length).
    const b: Bounded =
      declared !== null && declared <= target.limits.policyBody
        ? { complete: true, bytes: await req.bytes() }
        : await readBounded(body, target.limits.policyBody);
    if (b.complete) {
      body = b.bytes;
      bodyHead = head(b.bytes, target.limits.recordBody);
      try {
        http.body = JSON.parse(decoder.decode(b.bytes));
      } catch {
        http.body_skipped = "invalid_json";
      }
    } else {
      body = b.stream;
      http.body_skipped = "too_large";
    }
  } else if (body) {
    http.body_skipped = "not_json";
    // Small and of declared length: forwarded as bytes, so neither side needs a JS stream.
    if (declared !== null && declared <= WHOLE_BODY_MAX) body = await req.bytes();
  }
  if (http.body !== undefined || http.body_skipped !== undefined) command.shape = shapeOf(http);
  const method = req.method;

  // 2. Decide. Anything on the way to a decision that fails is a deny (the session guarantees it).
  let decision = await session.decide(command);
  let masker: JsonMasker | null = null;
  if (decision.action === "allow" && decision.mask.length > 0) {
    try {
      masker = jsonMasker(ctx.masking, decision.mask);
    } catch (err) {
      const e = err instanceof CustosError ? err : new CustosError("internal", String(err));
      decision = {
        ...decision,
        action: "deny",
        reason: e.message,
        rule: "custos.mask_unavailable",
        record: "sync",
      };
    }
  }

  // 3. Record the request; refuse what the policy refused.
  session.record({
    t: started,
    dir: "client",
    kind: "request",
    data: {
      method,
      path,
      query: cleanSearch,
      headers: recordedHeaders(req.headers, injected),
      ...(bodyHead ? { body: bodyHead } : {}),
    },
  });
  if (decision.action !== "allow") return refuse(hold, command, decision, started);
  if (decision.record === "sync") {
    try {
      await session.durable();
    } catch (err) {
      const e =
        err instanceof CustosError ? err : new CustosError("audit.unavailable", "audit store unavailable");
      hold.complete(command, decision, outcome(started, 503, { error: e.code }));
      return problemResponse(e);
    }
  }

  // 4. Forward with the service's credential in place of the client's.
  const url = new URL(`${target.url}${rest}${search}`);
  const headers = forwardRequestHeaders(req.headers);
  applyInjection(target.inject, headers, url);
  // Masking reads the body, so ask for it unencoded (response.ts decodes gzip/deflate if it comes anyway).
  if (masker) headers.set("accept-encoding", "identity");
  let bytesIn = body instanceof Uint8Array ? body.length : 0;
  if (body instanceof ReadableStream) {
    body = tap(body, 0, (r) => {
      bytesIn = r.bytes;
    });
  }
  const abort = new AbortController();
  const timer = setTimeout(
    () => abort.abort(new CustosError("upstream.timeout", "the upstream did not answer in time")),
    target.timeoutMs,
  );
  const onClientGone = () => abort.abort(new CustosError("protocol.malformed", "client closed the request"));
  req.signal.addEventListener("abort", onClientGone, { once: true });
  let upstream: Response;
  const forwarded = nowMicros();
  try {
    upstream = await fetch(url, {
      method,
      headers,
      body,
      redirect: "manual",
      decompress: false,
      signal: abort.signal,
      tls: tlsOptions(target),
    } as RequestInit);
  } catch (err) {
    clearTimeout(timer);
    req.signal.removeEventListener("abort", onClientGone);
    const reason = abort.signal.aborted ? abort.signal.reason : err;
    const e =
      reason instanceof CustosError
        ? reason
        : new CustosError("upstream.unreachable", "the upstream service is unreachable", {
            error: err instanceof Error ? err.message : String(err),
          });
    const status = e.code === "upstream.timeout" ? 504 : e.code === "protocol.malformed" ? 499 : 502;
    session.event("upstream.error", { connection: name, code: e.code, message: e.message, ...e.detail });
    hold.complete(command, decision, outcome(started, status, { error: e.code, bytes_in: bytesIn }));
    return problemResponse(e);
  }
  clearTimeout(timer);
  const upstreamUs = nowMicros() - forwarded;

  // 5. Relay the response; the audit event is written when its body is done.
  return relayResponse({
    upstream,
    pooled,
    name,
    target,
    masker,
    clientSignal: req.signal,
    logger: ctx.logger,
    onDone(status, detail) {
      req.signal.removeEventListener("abort", onClientGone);
      stats.bytesFromClient += bytesIn;
      stats.bytesToClient += (detail.bytes_out as number | undefined) ?? 0;
      hold.complete(
        command,
        decision,
        outcome(started, status, { bytes_in: bytesIn, upstream_us: upstreamUs, ...detail }),
      );
    },
  });
}

/** The command for a request (without its body, which the caller adds when it reads one). */
export function requestCommand(req: Request, target: HttpTarget, rest: string, search: string) {
  const injected = injectedHeader(target.inject);
  const queryName = target.inject?.kind === "query" ? target.inject.name : undefined;
  const params = new URLSearchParams(search);
  if (queryName) params.delete(queryName);
  const query: Record<string, string[]> = {};
  for (const [k, v] of params) {
    const list = query[k];
    if (list) list.push(v);
    else query[k] = [v];
  }
  const cleanSearch = params.size ? `?${params}` : "";
  const path = rest || "/";
  const http: HttpRequestInfo = {
    method: req.method,
    path,
    query,
    headers: policyHeaders(req.headers, injected),
  };
  const text = `${req.method} ${path}${cleanSearch}`;
  const command: Command = {
    protocol: "http",
    text,
    keyword: req.method.toLowerCase(),
    http,
    shape: shapeOf(http),
  };
  return { command, http, path, cleanSearch, injected };
}

export function refuse(hold: RequestHold, command: Command, decision: Decision, started: number): Response {
  const review = decision.action === "review";
  const err = review
    ? new CustosError("policy.review", "approval required")
    : new CustosError("policy.denied", decision.reason || "denied by policy");
  hold.complete(command, decision, outcome(started, 403, {}));
  return problemResponse(err, { rule: decision.rule, ...(review ? { reason: decision.reason } : {}) });
}

function outcome(started: number, status: number, detail: Record<string, unknown>) {
  return {
    tag: String(status),
    rows: 0,
    durationUs: nowMicros() - started,
    detail: { status, ...detail },
    ...(typeof detail.error === "string" ? { error: { code: detail.error, message: detail.error } } : {}),
  };
}

function hasBody(req: Request): boolean {
  if (req.body === null) return false;
  const len = req.headers.get("content-length");
  return len === null ? req.headers.has("transfer-encoding") : len !== "0";
}

function isJsonRequest(req: Request): boolean {
  const ct = req.headers.get("content-type");
  return ct !== null && /^application\/(?:[\w.+-]+\+)?json\b/i.test(ct.trim());
}

/**
 * The decision cache key: everything the policy input holds about the request. Long ones (bodies) are
 * digested with SHA-256, never a fast non-cryptographic hash: a crafted collision would reuse an allow.
 */
function shapeOf(http: HttpRequestInfo): string {
  const s = JSON.stringify(http);
  return s.length <= 512 ? s : `sha256:${new Bun.CryptoHasher("sha256").update(s).digest("hex")}`;
}

function tlsOptions(target: HttpTarget): Record<string, unknown> | undefined {
  const t = target.tls;
  if (!t.ca && !t.cert) return undefined;
  return {
    ...(t.ca ? { ca: t.ca } : {}),
    ...(t.cert ? { cert: t.cert } : {}),
    ...(t.key ? { key: t.key.reveal() } : {}),
  };
}
