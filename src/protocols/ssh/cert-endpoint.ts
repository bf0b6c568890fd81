// The SSH CA's two endpoints on listen.http: `GET /ssh/ca` (public keys only: the gateway's host key and
// the CA, what `custos ssh ca` prints) and `POST /ssh/certificate` (Bearer token, `{public_key,
// connection?}`: what `custos ssh login` calls; the certificate comes back, never a private key).
import { CustosError } from "../../core/errors.ts";
import type { CertificateIssuer } from "./cert-issuer.ts";

export const CA_PATH = "/ssh/ca";
export const CERTIFICATE_PATH = "/ssh/certificate";
const MAX_BODY = 16 * 1024;

const STATUS: Partial<Record<string, number>> = {
  "identity.missing": 401,
  "identity.malformed": 401,
  "identity.invalid": 401,
  "identity.expired": 401,
  "identity.untrusted_issuer": 401,
  "identity.wrong_audience": 401,
  "protocol.malformed": 400,
  "access.unknown_connection": 404,
  "access.forbidden": 403,
  "session.limit": 429,
  "audit.unavailable": 503,
};

function problem(e: CustosError): Response {
  return Response.json({ error: { code: e.code, message: e.message } }, { status: STATUS[e.code] ?? 403 });
}

export interface CaEndpointContext {
  issuer: CertificateIssuer;
  hostKey: string;
  caKey: string;
  port: number;
}

/** The response for one of the two paths, or undefined (synchronously) for any other request. */
export function serveCaEndpoint(
  ctx: CaEndpointContext,
  req: Request,
  clientAddr: () => string,
): Response | Promise<Response> | undefined {
  const path = new URL(req.url).pathname;
  if (path === CA_PATH) {
    if (req.method !== "GET") return new Response(null, { status: 405, headers: { allow: "GET" } });
    return Response.json({ host_key: ctx.hostKey, ca_key: ctx.caKey, port: ctx.port });
  }
  if (path !== CERTIFICATE_PATH) return undefined;
  return issueCertificate(ctx, req, clientAddr());
}

async function issueCertificate(ctx: CaEndpointContext, req: Request, clientAddr: string): Promise<Response> {
  if (req.method !== "POST") return new Response(null, { status: 405, headers: { allow: "POST" } });
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "");
  if (!m)
    return problem(
      new CustosError("identity.missing", "an identity token is required: Authorization: Bearer <token>"),
    );
  const malformed = problem(
    new CustosError(
      "protocol.malformed",
      'the body must be JSON: {"public_key": "ssh-ed25519 …", "connection"?}',
    ),
  );
  const text = await req.text();
  if (text.length > MAX_BODY) return malformed;
  let body: { public_key?: unknown; connection?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return malformed;
  }
  if (typeof body?.public_key !== "string") return malformed;
  if (body.connection !== undefined && typeof body.connection !== "string") return malformed;
  const answer = await ctx.issuer.issue(m[1]!, body.public_key, body.connection ?? null, clientAddr);
  if (answer instanceof CustosError) return problem(answer);
  return Response.json(
    { ...answer, host_key: ctx.hostKey, port: ctx.port },
    { headers: { "cache-control": "no-store" } },
  );
}
