// One HTTP exchange through the gateway, as narrated steps: authenticate (via the session pool), turn
// the request into a command, decide, record (durably first when the decision asks), inject the
// service's credential, forward, then relay the response (masked when the decision names fields) and
// write the command's audit event when the body has been delivered or abandoned.

import { nowMicros } from "../../core/clock.ts";
import type { Command, CommandOutcome, HttpRequestInfo } from "../../core/command.ts";
import { type Decision, deny } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { FieldPlans } from "../../masking/field-plans.ts";
import { jsonMasker } from "../../masking/json-mask.ts";
import { type Bounded, declaredLength, head, readBounded, tap, WHOLE_BODY_MAX } from "./body.ts";
import type { ClientOrigin } from "./headers.ts";
import type { InFlight } from "./in-flight.ts";
import { chooseOverride, commandFor, METHOD_PARAM, prepareRequest, shapeOf } from "./request.ts";
import {
  formBody,
  isIdentity,
  overrideMember,
  refuseOverrideInStream,
  requestBodyType,
  unreadableCharset,
} from "./request-body.ts";
import { type ResponseMasking, relayResponse } from "./response.ts";
import { type Scrubber, scrubberFor } from "./scrub.ts";
import type { RequestHold } from "./sessions.ts";
import { applyInjection, type HttpTarget } from "./target.ts";
import { problemResponse, statusFor } from "./wire-error.ts";

export interface ExchangeContext {
  masking: MaskingEngine;
  logger: Logger;
  /** The injected credential's forms, per connection target, built once (scrub.ts). */
  scrubber(target: HttpTarget): Scrubber | null;
  /** Requests waiting on their upstream: timeouts and client aborts (in-flight.ts). */
  inFlight: InFlight;
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
  origin: ClientOrigin | null,
): Promise<Response> {
  const started = nowMicros();
  // A request refused before it is decided: answered, audited and recorded as malformed.
  const refuseMalformed = (err: CustosError) => malformed(hold, req, rest, search, started, err);
  const pooled = hold.pooled;
  const { session, stats } = pooled;
  const target = session.connection.target;
  // 1. The request the upstream will execute, and the command the policy decides about it.
  const prepared = prepareRequest(req, target, rest, search, origin);
  if (!prepared.ok) return refuseMalformed(prepared.error);
  const upstreamReq = prepared.request;
  let { command, http } = commandFor(upstreamReq);
  let body: ReadableStream<Uint8Array> | Uint8Array | null = hasBody(req) ? req.body : null;
  let bodyHead: Uint8Array | undefined;
  const declared = body ? declaredLength(req.headers) : null;
  const bodyType = body ? requestBodyType(req) : "other";
  if (
    body &&
    !isIdentity(req.headers.get("content-encoding")) &&
    !target.relay.forwardHeaders.includes("content-encoding")
  )
    return refuseMalformed(
      new CustosError(
        "protocol.unsupported",
        "encoded request bodies are not relayed: the policy could not read them",
      ),
    );
  const charset = body ? unreadableCharset(req, bodyType) : null;
  if (charset !== null)
    return refuseMalformed(
      new CustosError(
        "protocol.unsupported",
        `a ${bodyType} body in ${charset} is not relayed: decide on UTF-8`,
      ),
    );
  if (body instanceof ReadableStream && bodyType !== "other") {
    // Within the policy's bound and of declared length: one native read (Bun enforces the length).
    const b: Bounded =
      declared !== null && declared <= target.limits.policyBody
        ? { complete: true, bytes: await req.bytes() }
        : await readBounded(body, target.limits.policyBody);
    if (b.complete) {
      body = b.bytes;
      if (bodyType === "json") {
        try {
          http.body = JSON.parse(decoder.decode(b.bytes));
        } catch {
          http.body_skipped = "invalid_json";
        }
        // Laravel reads `_method` from a JSON body as well: honoured, or refused (re-encoding JSON could
        // change the numbers in it).
        const jsonOverride = overrideMember(http.body);
        if (jsonOverride !== null) {
          if (!target.relay.methodOverride)
            return refuseMalformed(
              new CustosError("protocol.malformed", `a ${METHOD_PARAM} member in a JSON body is not relayed`),
            );
          const chosen = chooseOverride([
            jsonOverride,
            ...(upstreamReq.method !== req.method ? [upstreamReq.method] : []),
          ]);
          if (chosen instanceof CustosError) return refuseMalformed(chosen);
          const parsed = http.body;
          upstreamReq.method = chosen;
          ({ command, http } = commandFor(upstreamReq));
          http.body = parsed;
        }
      } else {
        const form = formBody(b.bytes, bodyType, target.relay.methodOverride);
        if (form instanceof CustosError) return refuseMalformed(form);
        if (form.override) {
          const chosen = chooseOverride([
            form.override,
            ...(upstreamReq.method !== req.method ? [upstreamReq.method] : []),
          ]);
          if (chosen instanceof CustosError) return refuseMalformed(chosen);
          upstreamReq.method = chosen;
          ({ command, http } = commandFor(upstreamReq));
        }
        if (form.bytes) body = form.bytes;
        if (form.fields) http.body = form.fields;
      }
      bodyHead = head(body, target.limits.recordBody);
    } else if (bodyType !== "form") {
      // JSON too large for the policy, or a multipart upload: streamed; the policy sees that it was skipped.
      // A method override inside cannot be stripped, so one aborts the upload (request-body.ts).
      body = target.relay.methodOverride
        ? b.stream
        : b.stream.pipeThrough(refuseOverrideInStream(bodyType === "json" ? "json" : "multipart"));
      http.body_skipped = "too_large";
    } else {
      // A form the gateway cannot read whole may carry a method override it cannot strip.
      await b.stream.cancel().catch(() => {});
      return refuseMalformed(
        new CustosError(
          "protocol.too_large",
          `form bodies are read whole to strip ${METHOD_PARAM}: at most ${target.limits.policyBody} bytes`,
        ),
      );
    }
  } else if (body) {
    http.body_skipped = "not_json";
    // Small and of declared length: forwarded as bytes, so neither side needs a JS stream.
    if (declared !== null && declared <= WHOLE_BODY_MAX) body = await req.bytes();
  }
  if (http.body !== undefined || http.body_skipped !== undefined) command.shape = shapeOf(http);
  const method = upstreamReq.method;

  // 2. Decide. Anything on the way to a decision that fails is a deny (the session guarantees it).
  // A cached decision comes back as a value: no await (and no microtask) on the hot path.
  const decided = session.decide(command);
  let decision = decided instanceof Promise ? await decided : decided;
  let masking: ResponseMasking | null = null;
  if (decision.action === "allow" && decision.mask.length > 0) {
    try {
      masking = responseMasking(ctx, decision);
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
  // Keys in canonical (sorted) order: the audit encoder then checks rather than sorts them.
  const requestFrame: Record<string, unknown> = {};
  if (bodyHead) requestFrame.body = bodyHead;
  if (method !== req.method) requestFrame.client_method = req.method;
  if (upstreamReq.path !== (rest || "/")) requestFrame.client_path = rest;
  requestFrame.headers = upstreamReq.recordedHeaders;
  requestFrame.method = method;
  requestFrame.path = upstreamReq.path;
  requestFrame.query = upstreamReq.search;
  session.record({ t: started, dir: "client", kind: "request", data: requestFrame });
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

  // 4. Forward exactly the decided request, with the service's credential in place of the client's.
  const href = `${target.url}${upstreamReq.path === "/" && rest === "" ? "" : upstreamReq.path}${upstreamReq.search}`;
  const headers = upstreamReq.headers;
  // Parsed only when the credential goes into the query (fetch takes the string as it is).
  let url: string | URL = href;
  if (target.inject?.kind === "query") {
    url = new URL(href);
    applyInjection(target.inject, headers, url);
  } else applyInjection(target.inject, headers, null);
  // Masking reads the body, so ask for it unencoded (response.ts decodes gzip/deflate/br if it comes anyway).
  if (masking) {
    headers.set("accept-encoding", "identity");
    // A byte range would cut values in pieces no detector recognises: masked identities get whole bodies.
    headers.delete("range");
    headers.delete("if-range");
  } else if (target.inject)
    headers.set("accept-encoding", readableEncodings(req.headers.get("accept-encoding")));
  let bytesIn = body instanceof Uint8Array ? body.length : 0;
  if (body instanceof ReadableStream) {
    body = tap(body, 0, (r) => {
      bytesIn = r.bytes;
    });
  }
  // The upstream's deadline and the client's abort, watched by the gateway's one sweep (in-flight.ts).
  const watch = ctx.inFlight.watch(req, target.timeoutMs);
  let upstream: Response;
  const forwarded = nowMicros();
  try {
    upstream = await fetch(url, {
      method,
      headers,
      body,
      redirect: "manual",
      decompress: false,
      signal: watch.signal,
      tls: tlsOptions(target),
    } as RequestInit);
  } catch (err) {
    watch.done();
    const reason = watch.signal.aborted ? watch.signal.reason : err;
    const e =
      reason instanceof CustosError
        ? reason
        : new CustosError("upstream.unreachable", "the upstream service is unreachable", {
            host: new URL(href).hostname,
            port: Number(new URL(href).port) || (href.startsWith("https:") ? 443 : 80),
            errno: (err as NodeJS.ErrnoException).code ?? null,
            error: err instanceof Error ? err.message : String(err),
          });
    const status = e.code === "upstream.timeout" ? 504 : e.code === "protocol.malformed" ? 499 : 502;
    session.event("upstream.error", { connection: name, code: e.code, message: e.message, ...e.detail });
    hold.complete(command, decision, outcome(started, status, { error: e.code, bytes_in: bytesIn }));
    return problemResponse(e);
  }
  // Until the body is done the client's abort still cancels the upstream's body; the timeout is over.
  watch.answered();
  const upstreamUs = nowMicros() - forwarded;

  // 5. Relay the response; the audit event is written when its body is done.
  try {
    return await relayResponse({
      upstream,
      pooled,
      name,
      target,
      masking,
      scrubber: ctx.scrubber(target),
      clientGone: () => req.signal.aborted,
      logger: ctx.logger,
      onDone(status, detail) {
        watch.done();
        stats.bytesFromClient += bytesIn;
        stats.bytesToClient += (detail.bytes_out as number | undefined) ?? 0;
        // The response's detail is a fresh object of its own (no bytes_in or upstream_us in it): completed
        // in place instead of copied, one allocation less per request (the p99 is the GC's, RESULTS.md).
        detail.bytes_in = bytesIn;
        detail.upstream_us = upstreamUs;
        hold.complete(command, decision, outcome(started, status, detail));
      },
    });
  } catch (err) {
    watch.done();
    throw err;
  }
}

/** A request refused before its decision: recorded, answered 400 (or the error's status), audited. */
export function malformed(
  hold: RequestHold,
  req: Request,
  rest: string,
  search: string,
  started: number,
  err: CustosError,
): Response {
  const session = hold.pooled.session;
  const http: HttpRequestInfo = { method: req.method, path: rest || "/", query: {}, headers: {} };
  const command: Command = {
    protocol: "http",
    text: `${req.method} ${rest || "/"}`,
    keyword: req.method.toLowerCase(),
    http,
    shape: shapeOf(http),
  };
  session.record({
    t: started,
    dir: "client",
    kind: "request",
    data: { method: req.method, path: rest || "/", query: search, refused: err.message },
  });
  const decision = deny(err.message, "custos.http_malformed_request");
  hold.complete(command, decision, outcome(started, statusFor(err.code), { error: err.code }));
  return problemResponse(err);
}

function responseMasking(ctx: ExchangeContext, decision: Decision): ResponseMasking {
  const json = jsonMasker(ctx.masking, decision.mask);
  return { json, plans: new FieldPlans(ctx.masking, decision.mask, json.evidence) };
}

/** Codings the gateway can decode to scrub the credential: what the client accepts of gzip, deflate, br. */
function readableEncodings(accept: string | null): string {
  if (!accept) return "identity";
  const ok = accept
    .split(",")
    .map((t) => t.trim().split(";")[0]!.toLowerCase())
    .filter((t) => t === "gzip" || t === "deflate" || t === "br");
  return ok.length ? ok.join(", ") : "identity";
}

export function refuse(hold: RequestHold, command: Command, decision: Decision, started: number): Response {
  const review = decision.action === "review";
  const err = review
    ? new CustosError("policy.review", "approval required")
    : new CustosError("policy.denied", decision.reason || "denied by policy");
  hold.complete(command, decision, outcome(started, 403, {}));
  return problemResponse(err, { rule: decision.rule, ...(review ? { reason: decision.reason } : {}) });
}

/** `detail` is the caller's own fresh object (never holding `status`): completed in place, not copied. */
function outcome(started: number, status: number, detail: Record<string, unknown>): CommandOutcome {
  detail.status = status;
  const o: CommandOutcome = { tag: String(status), rows: 0, durationUs: nowMicros() - started, detail };
  if (typeof detail.error === "string") o.error = { code: detail.error, message: detail.error };
  return o;
}

function hasBody(req: Request): boolean {
  // The framing headers first: most requests have neither, and then req.body is never touched.
  const len = req.headers.get("content-length");
  if (len === null ? !req.headers.has("transfer-encoding") : len === "0") return false;
  return req.body !== null;
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
