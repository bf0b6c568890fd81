// The credentials the gateway signs upstream calls with. A connection with `role_arn` calls sts:AssumeRole
// (signed with the connection's own key) once per gateway session, with SourceIdentity = the caller's
// subject and RoleSessionName = `custos-<session id>`, so the target account's CloudTrail names the agent
// and the Custos session on every call; the temporary credentials are cached until shortly before they
// expire. Failing to assume the role fails the call closed (the static key is never used in its place).
// Spec: AWS STS API Reference, AssumeRole (SourceIdentity and RoleSessionName: 2-64 characters of
// [\w+=,.@-]; SourceIdentity may not start with "aws:"; DurationSeconds 900-43200).
import { createHash } from "node:crypto";
import { CustosError } from "../../core/errors.ts";
import { amzDate, sha256Hex, sign } from "../../net/sigv4.ts";
import { type AwsTarget, upstreamOrigin } from "./target.ts";

export interface UpstreamCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** The STS session token (sent as x-amz-security-token), or null for a long-term key. */
  sessionToken: string | null;
  /** Epoch ms; Infinity for a long-term key. */
  expiresAt: number;
}

const ALLOWED = /^[\w+=,.@-]{2,64}$/;
const STS_VERSION = "2011-06-15";
/** Refreshed this long before expiry, so no call is signed with credentials about to lapse (role sessions
 * last at least 900 s, so a credential serves 10 minutes or more). */
const REFRESH_MARGIN_MS = 5 * 60_000;
const STS_TIMEOUT_MS = 10_000;

/**
 * The caller's subject as AWS accepts it for SourceIdentity: unchanged when it already fits; otherwise
 * each disallowed character becomes `_`, it is cut to 52 characters and `+` and 11 characters of the
 * subject's SHA-256 are appended, so two subjects that sanitise alike still differ.
 */
export function sourceIdentityOf(subject: string): string {
  // ':' is outside the charset, so no result can start with the reserved "aws:".
  if (ALLOWED.test(subject)) return subject;
  const digest = createHash("sha256").update(subject).digest("hex").slice(0, 11);
  return `${subject.replace(/[^\w+=,.@-]/g, "_").slice(0, 52)}+${digest}`;
}

/** `custos-<session id>`, within RoleSessionName's charset and length. */
export function roleSessionNameOf(sessionId: string): string {
  return `custos-${sessionId.replace(/[^\w+=,.@-]/g, "_")}`.slice(0, 64);
}

function xmlField(xml: string, name: string): string | null {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m ? m[1]! : null;
}

function unescapeXml(text: string): string {
  return text
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&apos;", "'")
    .replaceAll("&amp;", "&");
}

export interface AssumeRequest {
  target: AwsTarget;
  roleArn: string;
  sessionName: string;
  sourceIdentity: string;
  durationSeconds: number;
}

/** One sts:AssumeRole call (query protocol, POST form body), signed with the connection's own key. */
export async function assumeRole(r: AssumeRequest): Promise<UpstreamCredentials | CustosError> {
  const origin = new URL(upstreamOrigin(r.target, "sts"));
  const body = new URLSearchParams({
    Action: "AssumeRole",
    Version: STS_VERSION,
    RoleArn: r.roleArn,
    RoleSessionName: r.sessionName,
    SourceIdentity: r.sourceIdentity,
    DurationSeconds: String(r.durationSeconds),
  }).toString();
  const date = amzDate(Date.now());
  const headers = {
    host: origin.host,
    "x-amz-date": date,
    "content-type": "application/x-www-form-urlencoded; charset=utf-8",
  };
  const s = sign({
    method: "POST",
    canonicalUri: "/",
    query: [],
    headers,
    payloadHash: sha256Hex(body),
    scope: { date: date.slice(0, 8), region: r.target.region, service: "sts" },
    amzDate: date,
    accessKeyId: r.target.accessKeyId.reveal(),
    secret: r.target.secretAccessKey.reveal(),
  });
  let text: string;
  let status: number;
  try {
    const res = await fetch(`${origin.protocol}//${origin.host}/`, {
      method: "POST",
      headers: { ...headers, authorization: s.authorization },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(STS_TIMEOUT_MS),
    });
    status = res.status;
    text = (await res.text()).slice(0, 64 << 10);
  } catch (err) {
    return new CustosError(
      "upstream.unreachable",
      `sts:AssumeRole could not reach STS: ${(err as Error).message}`,
    );
  }
  const id = xmlField(text, "AccessKeyId");
  const secret = xmlField(text, "SecretAccessKey");
  const token = xmlField(text, "SessionToken");
  const expiration = xmlField(text, "Expiration");
  const expiresAt = expiration === null ? Number.NaN : Date.parse(expiration);
  if (status !== 200 || !id || !secret || !token || Number.isNaN(expiresAt)) {
    // Only STS's error code and message are passed on: the body of a failed call holds no credential.
    const code = xmlField(text, "Code") ?? `HTTP ${status}`;
    const message = unescapeXml(xmlField(text, "Message") ?? "no usable credentials in the answer").slice(
      0,
      300,
    );
    return new CustosError(
      "upstream.auth_failed",
      `sts:AssumeRole of ${r.roleArn} failed: ${code}: ${message}`,
    );
  }
  return {
    accessKeyId: id,
    secretAccessKey: unescapeXml(secret),
    sessionToken: unescapeXml(token),
    expiresAt,
  };
}

interface Cached {
  creds: UpstreamCredentials | null;
  pending: Promise<UpstreamCredentials | CustosError> | null;
}

/**
 * Upstream credentials per gateway session: the connection's key as is, or its role assumed for the
 * session's subject. A cached, fresh credential is a map lookup; only a first call or a refresh awaits STS.
 */
export class UpstreamCredentialCache {
  private readonly bySession = new Map<string, Cached>();

  constructor(
    private readonly assume: (r: AssumeRequest) => Promise<UpstreamCredentials | CustosError> = assumeRole,
  ) {}

  get(
    target: AwsTarget,
    sessionId: string,
    subject: string,
    now: number,
  ): UpstreamCredentials | Promise<UpstreamCredentials | CustosError> {
    if (target.roleArn === null)
      return {
        accessKeyId: target.accessKeyId.reveal(),
        secretAccessKey: target.secretAccessKey.reveal(),
        sessionToken: null,
        expiresAt: Number.POSITIVE_INFINITY,
      };
    let c = this.bySession.get(sessionId);
    if (c?.creds && now < c.creds.expiresAt - REFRESH_MARGIN_MS) return c.creds;
    if (!c) {
      this.prune(now);
      c = { creds: null, pending: null };
      this.bySession.set(sessionId, c);
    }
    if (c.pending) return c.pending;
    const entry = c;
    const roleArn = target.roleArn;
    entry.pending = this.assume({
      target,
      roleArn,
      sessionName: roleSessionNameOf(sessionId),
      sourceIdentity: sourceIdentityOf(subject),
      durationSeconds: target.roleDurationSeconds,
    }).then((r) => {
      entry.pending = null;
      // A failure is not cached: the next call asks STS again (and fails closed again if it must).
      if (!(r instanceof CustosError)) entry.creds = r;
      return r;
    });
    return entry.pending;
  }

  /** Forgets a closed session's credentials. */
  drop(sessionId: string): void {
    this.bySession.delete(sessionId);
  }

  private prune(now: number): void {
    for (const [id, c] of this.bySession)
      if (!c.pending && (!c.creds || c.creds.expiresAt <= now)) this.bySession.delete(id);
  }
}
