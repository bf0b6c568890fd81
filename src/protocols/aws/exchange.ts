// One AWS API call through the gateway, as narrated steps: verify the caller's signature (before reading
// anything else), classify the operation, decide (holding a review until humans answer), record (durably
// first when the decision asks), re-sign for the target and forward, then relay the response rewritten
// and masked, and write the call's audit event once its body has been delivered or abandoned.
import { randomBytes } from "node:crypto";
import { nowMicros } from "../../core/clock.ts";
import type { Command } from "../../core/command.ts";
import { type Decision, deny } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { Gateway } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { FieldPlans } from "../../masking/field-plans.ts";
import { jsonMasker } from "../../masking/json-mask.ts";
import { readBounded } from "../http/body.ts";
import { addressOf } from "./addressing.ts";
import { roleSessionNameOf, sourceIdentityOf, type UpstreamCredentialCache } from "./assume-role.ts";
import { checkUnsignedChunks, resignChunks } from "./chunked.ts";
import { awsOperation, type WireProtocol } from "./codec.ts";
import { commandOf } from "./command.ts";
import { type AwsError, errorResponse, protocolOf } from "./errors.ts";
import { type Masking, rewritesFor } from "./mask.ts";
import { BOUND_ACTIONS, BOUND_AND_DECIDED, uploadIdOf } from "./multipart.ts";
import { withoutPresign } from "./presigned.ts";
import { relayResponse, tapped } from "./relay.ts";
import { payloadCheck, streamsBody } from "./request-body.ts";
import type { CredentialRegistry } from "./session.ts";
import { type AwsTarget, upstreamOrigin } from "./target.ts";
import { planUpstream, relayedHeaders } from "./upstream.ts";
import { type AuthFailureCode, parseAuth, queryPairs, ReplayGuard, verifySignature } from "./verify.ts";

export interface ExchangeContext {
  gateway: Gateway;
  masking: MaskingEngine;
  logger: Logger;
  registry: CredentialRegistry;
  upstreamCredentials: UpstreamCredentialCache;
  targets: ReadonlyMap<string, AwsTarget>;
  replay: Map<string, ReplayGuard>;
  /** `virtual_host_base` → its connection (S3 virtual-hosted addressing). */
  virtualHosts: ReadonlyMap<string, string>;
  /** Lets a held request wait past the listener's idle time-out. */
  holdOpen(req: Request): void;
  clientAddr(req: Request): string;
}

/**
 * Operations whose responses carry credentials of the target account (STS session credentials, a new
 * IAM access key): refused whatever the policy says, since no masking rule could make them safe to relay.
 */
const CREDENTIAL_ACTIONS = new Set([
  "sts:AssumeRole",
  "sts:AssumeRoleWithSAML",
  "sts:AssumeRoleWithWebIdentity",
  "sts:AssumeRoot",
  "sts:GetSessionToken",
  "sts:GetFederationToken",
  "iam:CreateAccessKey",
  "iam:CreateServiceSpecificCredential",
  "iam:ResetServiceSpecificCredential",
  "iam:CreateLoginProfile",
  "iam:UpdateLoginProfile",
  "iam:ChangePassword",
]);

const AUTH_ERRORS: Record<AuthFailureCode, { status: number; code: string }> = {
  missing: { status: 403, code: "MissingAuthenticationToken" },
  malformed: { status: 400, code: "InvalidRequest" },
  unknown_key: { status: 403, code: "InvalidAccessKeyId" },
  expired: { status: 400, code: "ExpiredToken" },
  skew: { status: 403, code: "RequestTimeTooSkewed" },
  scope: { status: 400, code: "AuthorizationHeaderMalformed" },
  unsigned_header: { status: 400, code: "InvalidRequest" },
  signature: { status: 403, code: "SignatureDoesNotMatch" },
  replay: { status: 403, code: "AccessDenied" },
};

function requestId(): string {
  return randomBytes(8).toString("hex").toUpperCase();
}

/** One call; `mounted` names the connection when it came in under listen.http at /aws/<connection>/. */
export async function exchange(
  ctx: ExchangeContext,
  req: Request,
  mounted: string | null = null,
): Promise<Response> {
  const id = requestId();
  const started = nowMicros();
  const clientAddr = ctx.clientAddr(req);
  const address = addressOf(req.url, req.headers.get("host") ?? "localhost", mounted, ctx.virtualHosts);
  const { signedPath, rawQuery, opPath, clientOrigin } = address;
  const raw = { method: req.method, rawPath: signedPath, rawQuery, headers: req.headers };
  const early = (protocol: WireProtocol, e: AwsError) => {
    ctx.gateway.reject(
      "aws",
      clientAddr,
      new CustosError(e.status === 400 ? "protocol.malformed" : "identity.invalid", e.message),
    );
    return errorResponse(protocol, e, id);
  };
  // 1. Who signed it: a key this gateway minted and still live.
  const auth = parseAuth(raw);
  if ("failure" in auth)
    return early(protocolOf(null, req.headers), { ...AUTH_ERRORS[auth.failure], message: auth.message });
  const service = auth.scope.service;
  const protocol0 = protocolOf(service, req.headers);
  const now = Date.now();
  const found = ctx.registry.lookup(auth.accessKeyId, now);
  if (found === "unknown")
    return early(protocol0, {
      ...AUTH_ERRORS.unknown_key,
      message: "the access key id is not one this gateway issued (or it was revoked)",
    });
  if (found === "expired")
    return early(protocol0, {
      ...AUTH_ERRORS.expired,
      message: "the credential has expired: run credential_process again",
    });
  const { entry, secret } = found;
  const target = ctx.targets.get(entry.connection)!;
  // A credential serves its own connection only, whichever way the call names one.
  const named = mounted ?? address.virtual?.connection ?? entry.connection;
  if (named !== entry.connection)
    return early(protocol0, {
      status: 403,
      code: "AccessDenied",
      message: `the credential is for connection ${entry.connection}, not ${named}`,
    });
  if (address.virtual !== null && service !== "s3")
    return early(protocol0, {
      status: 400,
      code: "InvalidRequest",
      message: "only S3 calls may address a bucket by host name",
    });
  // 2. The body, when the operation reads it whole (all but S3 object uploads), within its bound.
  const streaming = streamsBody(service, req.method, opPath, rawQuery);
  let body: Uint8Array | null = null;
  if (!streaming && req.body !== null) {
    const declared = Number(req.headers.get("content-length") ?? "NaN");
    if (declared > target.limits.requestBody)
      return early(protocol0, {
        status: 413,
        code: "EntityTooLarge",
        message: `request bodies are limited to ${target.limits.requestBody} bytes`,
      });
    const read = await readBounded(req.body, target.limits.requestBody);
    if (!read.complete) {
      await read.stream.cancel().catch(() => {});
      return early(protocol0, {
        status: 413,
        code: "EntityTooLarge",
        message: `request bodies are limited to ${target.limits.requestBody} bytes`,
      });
    }
    body = read.bytes;
  } else if (!streaming) body = new Uint8Array(0);
  // 3. The signature over exactly these bytes, then once only.
  const verified = verifySignature(raw, auth, { now, clockSkewMs: target.clockSkewMs, secret, body });
  if ("failure" in verified)
    return early(protocol0, { ...AUTH_ERRORS[verified.failure], message: verified.message });
  let guard = ctx.replay.get(entry.connection);
  if (!guard) {
    guard = new ReplayGuard(target.clockSkewMs);
    ctx.replay.set(entry.connection, guard);
  }
  // A presigned URL is a bearer link meant to be reused until it expires (each use decided again);
  // a header signature is good once.
  if (auth.presigned === undefined && !guard.admit(auth.signature, now))
    return early(protocol0, {
      ...AUTH_ERRORS.replay,
      message: "this signature was already used: a replayed request is refused",
    });
  if (!target.services.includes(service))
    return early(protocol0, {
      status: 403,
      code: "AccessDenied",
      message: `${service} is not a service of connection ${entry.connection}`,
    });
  if (auth.scope.region !== target.region)
    return early(protocol0, {
      ...AUTH_ERRORS.scope,
      message: `connection ${entry.connection} signs for region ${target.region}, not ${auth.scope.region}`,
    });

  // 4. The session the credential names (reopened after an idle close: identity checked again).
  const session = await ctx.registry.session(entry);
  if (session instanceof CustosError)
    return errorResponse(protocol0, { status: 403, code: "AccessDenied", message: session.message }, id);
  const hold = ctx.registry.hold(entry);
  const stats = hold.stats;
  const declaredIn = Number(req.headers.get("content-length") ?? 0) || 0;
  stats.bytesFromClient += body?.length ?? declaredIn;

  // 5. What is asked, as the target will read it.
  let path: string;
  try {
    path = decodeURIComponent(opPath);
  } catch {
    path = "\u0000";
  }
  const query = withoutPresign(queryPairs(rawQuery) ?? []);
  const upOrigin = upstreamOrigin(target, service);
  // SQS callers name queues by the URL the gateway gave them; the target knows them by its own.
  let forwardBody = body;
  if (body !== null && service === "sqs" && body.length > 0) {
    const text = new TextDecoder().decode(body);
    const swapped = text
      .replaceAll(clientOrigin, upOrigin)
      .replaceAll(encodeURIComponent(clientOrigin), encodeURIComponent(upOrigin));
    if (swapped !== text) forwardBody = new TextEncoder().encode(swapped);
  }
  const op = path.includes("\u0000")
    ? "the path has a malformed escape"
    : awsOperation({
        service,
        region: target.region,
        method: req.method,
        path,
        query,
        headers: req.headers,
        body: forwardBody,
        paramsBound: target.limits.policyBody,
      });
  const relayed = typeof op === "string" ? op : relayedHeaders(op, req.headers);
  const fail = (decision: Decision, e: AwsError, protocol: WireProtocol, command: Command) => {
    session.completed(command, decision, {
      tag: null,
      rows: 0,
      durationUs: nowMicros() - started,
      error: { code: e.code, message: e.message },
      detail: { status: e.status },
    });
    hold.release();
    return errorResponse(protocol, e, id);
  };
  if (typeof op === "string" || typeof relayed === "string") {
    const message = typeof op === "string" ? op : `the header ${relayed} is not one the gateway relays`;
    const command: Command = {
      protocol: "aws",
      text: `${service}:? ${req.method} ${path}`,
      details: { service, malformed: message },
    };
    session.record({
      t: started,
      dir: "client",
      kind: "request",
      data: { service, method: req.method, path, refused: message },
    });
    return fail(
      deny(message, "custos.aws_malformed"),
      { status: 400, code: "InvalidRequest", message },
      protocol0,
      command,
    );
  }
  const protocol = op.protocol;
  const command = commandOf(op, req.method, relayed, auth.presigned !== undefined);

  // 6. The decision (a review waits for humans; the client's connection is kept open meanwhile).
  // Multipart parts and completions go under the decision of the upload they belong to (multipart.ts).
  const uploadId = query.find(([k]) => k === "uploadId")?.[1] ?? null;
  const bucket = op.s3?.bucket ?? null;
  const objectKey = op.s3?.key ?? null;
  const multipart = service === "s3" ? entry.uploads : null;
  let decision: Decision;
  if (CREDENTIAL_ACTIONS.has(`${service}:${op.action}`))
    decision = deny(
      `${service}:${op.action} returns credentials of the target account: never relayed`,
      "custos.aws_credential_response",
    );
  else if (multipart && BOUND_ACTIONS.has(op.action))
    decision = multipart.decide(uploadId, bucket, objectKey);
  else if (multipart && BOUND_AND_DECIDED.has(op.action)) {
    const bound = multipart.decide(uploadId, bucket, objectKey);
    decision = bound.action === "deny" ? bound : await session.decide(command);
  } else decision = await session.decide(command);
  session.record({
    t: started,
    dir: "client",
    kind: "request",
    data: {
      service,
      action: op.action,
      resource: op.resource,
      method: req.method,
      path,
      query: Object.fromEntries(query),
      ...(op.params ? { params: op.params } : {}),
      ...(forwardBody && forwardBody.length > 0
        ? { body: forwardBody.subarray(0, target.limits.recordBody) }
        : {}),
    },
  });
  if (decision.action === "review") {
    ctx.holdOpen(req);
    decision = await session.review(command, decision, {}, (notice) => {
      ctx.logger.info("aws call held for approval", {
        connection: entry.connection,
        request_id: notice.requestId,
        action: `${service}:${op.action}`,
        hint: notice.hint,
      });
      session.record({
        t: nowMicros(),
        dir: "server",
        kind: "review",
        data: { request_id: notice.requestId, hint: notice.hint },
      });
    });
  }
  session.record({
    t: nowMicros(),
    dir: "server",
    kind: "decision",
    data: { action: decision.action, rule: decision.rule, reason: decision.reason },
  });
  if (decision.action !== "allow")
    return fail(
      decision,
      { status: 403, code: "AccessDenied", message: `custos: ${decision.reason} (${decision.rule})` },
      protocol,
      command,
    );
  if (!session.recordable())
    return fail(
      decision,
      { status: 503, code: "ServiceUnavailable", message: "audit store unavailable: calls are refused" },
      protocol,
      command,
    );

  // 7. A masked identity's responses are masked; rules that cannot be built refuse the call.
  let masking: Masking | null = null;
  if (decision.mask.length > 0) {
    try {
      const json = jsonMasker(ctx.masking, decision.mask);
      masking = { json, plans: new FieldPlans(ctx.masking, decision.mask, json.evidence) };
    } catch (err) {
      const message = err instanceof CustosError ? err.message : "the masking rules cannot be applied";
      return fail(
        deny(message, "custos.mask_unavailable"),
        { status: 403, code: "AccessDenied", message },
        protocol,
        command,
      );
    }
  }
  // A range of a text object could cut a regulated value where the detectors no longer see it.
  if (masking !== null && op.action === "GetObject" && relayed.range !== undefined) {
    const message = "ranged reads are not relayed to masked identities (a range can cut a masked value)";
    return fail(
      deny(message, "custos.aws_masked_range"),
      { status: 403, code: "AccessDenied", message },
      protocol,
      command,
    );
  }
  if (decision.record === "sync") {
    try {
      await session.durable();
    } catch {
      return fail(
        decision,
        { status: 503, code: "ServiceUnavailable", message: "audit store unavailable: calls are refused" },
        protocol,
        command,
      );
    }
  }

  // 8. Re-signed for the target (as the role assumed for this session, when the connection names one),
  // the body relayed as it arrives (verified on the way). No role credentials: the call fails closed.
  let creds = ctx.upstreamCredentials.get(target, session.id, session.identity.subject, Date.now());
  if (creds instanceof Promise) {
    const got = await creds;
    if (got instanceof CustosError) {
      session.event("upstream.error", { connection: entry.connection, code: got.code, message: got.message });
      return fail(
        decision,
        { status: 403, code: "AccessDenied", message: `custos: ${got.message}` },
        protocol,
        command,
      );
    }
    session.event("aws.role_assumed", {
      role_arn: target.roleArn,
      role_session_name: roleSessionNameOf(session.id),
      source_identity: sourceIdentityOf(session.identity.subject),
      access_key_id: got.accessKeyId,
      expires_at: got.expiresAt,
    });
    creds = got;
  }
  const plan = planUpstream({
    target,
    creds,
    op,
    method: req.method,
    query,
    relayed,
    body: forwardBody,
    payloadMode: verified.payloadMode,
    callerPayloadHash: verified.payloadHash,
    now: Date.now(),
  });
  let upstreamBody: BodyInit | null =
    forwardBody && forwardBody.length > 0 ? (forwardBody as Uint8Array<ArrayBuffer>) : null;
  const headers = { ...plan.headers };
  if (streaming && req.body !== null) {
    const maxChunk = 16 << 20;
    const recordHead: Uint8Array[] = [];
    let recorded = 0;
    const onData = (d: Uint8Array) => {
      if (recorded < target.limits.recordBody) {
        const part = d.subarray(0, target.limits.recordBody - recorded).slice();
        recordHead.push(part);
        recorded += part.length;
      }
    };
    let stream: ReadableStream<Uint8Array> = req.body;
    if (verified.payloadMode === "streaming-signed" || verified.payloadMode === "streaming-signed-trailer") {
      stream = stream.pipeThrough(
        resignChunks(
          { key: verified.key, scope: auth.scope, amzDate: verified.amzDate, seed: auth.signature },
          { key: plan.key, scope: plan.scope, amzDate: plan.amzDate, seed: plan.signature },
          maxChunk,
          onData,
          verified.payloadMode === "streaming-signed-trailer",
        ),
      );
    } else if (verified.payloadMode === "streaming-unsigned-trailer") {
      stream = stream.pipeThrough(checkUnsignedChunks(maxChunk, onData));
    } else {
      stream = stream.pipeThrough(
        payloadCheck(verified.payloadMode === "hex" ? verified.payloadHash : null, onData),
      );
    }
    upstreamBody = tapped(stream, 0, (_h, _b, error) => {
      const size = recordHead.reduce((n, p) => n + p.length, 0);
      const joined = new Uint8Array(size);
      let at = 0;
      for (const p of recordHead) {
        joined.set(p, at);
        at += p.length;
      }
      session.record({
        t: nowMicros(),
        dir: "client",
        kind: "request_body",
        data: { body: joined, ...(error ? { error: error.message } : {}) },
      });
    });
    const length = req.headers.get("content-length");
    if (length !== null) headers["content-length"] = length;
  }
  let up: Response;
  try {
    up = await fetch(plan.url, {
      method: req.method,
      headers,
      body: upstreamBody,
      redirect: "manual",
      decompress: false,
      // biome-ignore lint/suspicious/noExplicitAny: Bun's fetch takes `duplex` for streamed bodies.
      ...({ duplex: "half" } as any),
    } as RequestInit);
  } catch (err) {
    const message =
      err instanceof CustosError ? err.message : `the target could not be reached: ${(err as Error).message}`;
    return fail(decision, { status: 502, code: "ServiceUnavailable", message }, protocol, command);
  }

  // An allowed CreateMultipartUpload binds its UploadId to this session before the client can send a part.
  if (multipart && op.action === "CreateMultipartUpload" && up.status === 200) {
    const read = up.body
      ? await readBounded(up.body, 64 << 10)
      : { complete: true as const, bytes: new Uint8Array(0) };
    if (!read.complete) {
      await read.stream.cancel().catch(() => {});
      const message = "the target's CreateMultipartUpload answer is too large to read";
      return fail(decision, { status: 502, code: "ServiceUnavailable", message }, protocol, command);
    }
    const text = new TextDecoder().decode(read.bytes);
    const id = uploadIdOf(text);
    if (id !== null && bucket !== null && objectKey !== null)
      multipart.bind(id, { bucket, key: objectKey, decision });
    up = new Response(text, { status: up.status, headers: up.headers });
  } else if (
    multipart &&
    uploadId !== null &&
    (op.action === "CompleteMultipartUpload" || op.action === "AbortMultipartUpload") &&
    up.ok
  )
    multipart.forget(uploadId);

  // 9. The response, rewritten and masked, recorded and audited when delivered.
  const rewrites = rewritesFor(upOrigin, clientOrigin, [target.accessKeyId.reveal(), creds.accessKeyId]);
  const finish = (status: number, head: Uint8Array, bytes: number, error: CustosError | null) => {
    stats.bytesToClient += bytes;
    session.record({
      t: nowMicros(),
      dir: "server",
      kind: "response",
      data: { status, bytes, body: head, ...(error ? { error: error.message } : {}) },
    });
    session.completed(command, decision, {
      tag: String(status),
      rows: 0,
      durationUs: nowMicros() - started,
      ...(error ? { error: { code: error.code, message: error.message } } : {}),
      detail: {
        status,
        bytes_in: body?.length ?? declaredIn,
        bytes_out: bytes,
        service,
        // Not `action`: the statement event's `action` is the decision's.
        operation: op.action,
        resource: op.resource,
        ...(masking ? { masking: masking.json.evidence } : {}),
      },
    });
    hold.release();
  };
  try {
    return await relayResponse(up, {
      service,
      objectBody: service === "s3" && op.action === "GetObject",
      head: req.method === "HEAD",
      rewrites,
      masking,
      unmaskedTypes: target.unmaskedTypes,
      maskBody: target.limits.maskBody,
      recordBody: target.limits.recordBody,
      done: finish,
    });
  } catch (err) {
    const e = err instanceof CustosError ? err : new CustosError("upstream.protocol", String(err));
    const status = e.code === "policy.denied" ? 403 : 502;
    finish(status, new Uint8Array(0), 0, e);
    return errorResponse(
      protocol,
      {
        status,
        code: status === 403 ? "AccessDenied" : "ServiceUnavailable",
        message: `custos: ${e.message}`,
      },
      id,
    );
  }
}
