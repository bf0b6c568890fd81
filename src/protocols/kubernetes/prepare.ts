// The steps every request takes before anything is forwarded, plain or upgraded: route by connection
// name, canonical target, the caller's token, the API server's reading of the request (request-info.ts),
// the command the policy decides, the decision (held for review when the policy says so), and the
// response masking it implies.
import type { IncomingMessage } from "node:http";
import type { Command } from "../../core/command.ts";
import { type Decision, deny } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { commandText, type KubeRequestDetails, requestDetails, shapeOf } from "./command.ts";
import { bearerToken } from "./headers.ts";
import { type ResponseMaskPlan, responseMaskPlan } from "./mask.ts";
import { canonicalRequest, type RequestInfo, resolveRequestInfo } from "./request-info.ts";
import { maskSecrets } from "./secret-mask.ts";
import type { KubeSession } from "./sessions.ts";

/** The prefix kubeconfigs point at: `server: https://gateway:6443/c/<connection>`. */
export const PREFIX = "/c/";

export interface Routed {
  connection: string;
  /** Canonical path below the connection's prefix. */
  path: string;
  /** The raw query with its "?", forwarded as sent (its reading is Go's, canonicalRequest checked). */
  search: string;
  query: Map<string, string[]>;
  info: RequestInfo;
  token: string;
}

/** Routing, canonical form, token and request info; a CustosError says why the request is refused. */
export function route(req: IncomingMessage): Routed | CustosError {
  const target = req.url ?? "";
  if (!target.startsWith(PREFIX))
    return new CustosError(
      "access.unknown_connection",
      "the gateway serves Kubernetes API requests under /c/<connection>/ (see custos kubeconfig)",
    );
  const q = target.indexOf("?");
  const rawPath = q === -1 ? target : target.slice(0, q);
  const rawQuery = q === -1 ? "" : target.slice(q + 1);
  const after = rawPath.slice(PREFIX.length);
  const slash = after.indexOf("/");
  const connection = slash === -1 ? after : after.slice(0, slash);
  const path = slash === -1 ? "/" : after.slice(slash);
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/.test(connection))
    return new CustosError("access.unknown_connection", "the connection name in the path is not valid");
  const canon = canonicalRequest(path, rawQuery);
  if (!canon.ok) return new CustosError("protocol.malformed", canon.message);
  const method = req.method ?? "";
  const resolved = resolveRequestInfo(method, canon.path, canon.query);
  if (!resolved.ok) return new CustosError("protocol.malformed", resolved.message);
  const token = bearerToken(req.headers.authorization);
  if (token === null)
    return new CustosError(
      "identity.missing",
      "an identity token is required: Authorization: Bearer <token>",
    );
  if (token === "malformed")
    return new CustosError("identity.malformed", "the Authorization header is not a Bearer token");
  return {
    connection,
    path: canon.path,
    search: q === -1 ? "" : `?${rawQuery}`,
    query: canon.query,
    info: resolved.info,
    token,
  };
}

export interface Body {
  bytes: Uint8Array;
  /** The media type without parameters, lower-cased. */
  type: string;
}

// Request bodies the policy can read: JSON and the JSON-based patch types (apimachinery types.PatchType).
// Server-side apply's media type says YAML, but kubectl sends JSON, which is YAML; a body that does not
// parse as JSON is refused, as are protobuf and CBOR (the policy could not see the object).
const JSON_BODY_TYPES = new Set([
  "application/json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
  "application/json-patch+json",
  "application/apply-patch+yaml",
]);

export function buildCommand(
  routed: Routed,
  method: string,
  body: Body | null,
  extra: Partial<KubeRequestDetails>,
): Command | CustosError {
  const details: KubeRequestDetails = { ...requestDetails(method, routed.info, routed.query), ...extra };
  let shown = "";
  if (body && body.bytes.length > 0) {
    if (!JSON_BODY_TYPES.has(body.type))
      return new CustosError(
        "protocol.unsupported",
        `request bodies of type ${body.type || "(none)"} are not relayed: send JSON`,
      );
    let object: unknown;
    try {
      object = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body.bytes));
    } catch {
      return new CustosError("protocol.unsupported", "the request body is not JSON: send JSON");
    }
    // The policy input and the recorded text never hold a Secret's values.
    maskSecrets(object, details.group === "" && details.resource === "secrets");
    details.object = object;
    details.content_type = body.type;
    shown = JSON.stringify(object);
    if (shown.length > 4096) shown = `${shown.slice(0, 4096)}…`;
  }
  const text = shown ? `${commandText(details)} ${shown}` : commandText(details);
  return {
    protocol: "kubernetes",
    text,
    keyword: details.verb,
    details: details as unknown as Record<string, unknown>,
    shape: shapeOf(details),
  };
}

export interface Authorized {
  decision: Decision;
  /** Null when nothing in the response needs masking. */
  plan: ResponseMaskPlan | null;
}

/**
 * Decides (and, for `review`, waits for the humans), then builds the response masking: agents always lose
 * Secret values; the decision's rules apply to everyone they name. A decision whose masking cannot be
 * built becomes a deny. `bodyDigest` binds an approval to the exact bytes that will be forwarded.
 */
export async function authorize(
  kube: KubeSession,
  command: Command,
  masking: MaskingEngine,
  logger: Logger,
  bodyDigest: string | null,
): Promise<Authorized> {
  const session = kube.session;
  let decision = await session.decide(command);
  let asked: Decision | null = null;
  if (decision.action === "review") {
    asked = decision;
    decision = await session.review(
      command,
      decision,
      bodyDigest ? { params: [new TextEncoder().encode(`sha256:${bodyDigest}`)] } : {},
      (notice) =>
        logger.info("kubernetes request held for review", {
          session: session.id,
          request: notice.requestId,
          hint: notice.hint,
        }),
    );
  }
  // An approval allows the request; it never lifts the masking the policy asked for (ENFORCEMENT.md §2).
  if (decision.action === "allow" && asked)
    decision = { ...decision, mask: [...asked.mask, ...decision.mask] };
  if (decision.action !== "allow") return { decision, plan: null };
  const details = command.details as unknown as KubeRequestDetails;
  try {
    const plan = responseMaskPlan(
      masking,
      decision.mask,
      session.identity.kind === "agent",
      details.group === "" && details.resource === "secrets",
    );
    return { decision, plan };
  } catch (err) {
    return {
      decision: deny(err instanceof Error ? err.message : String(err), "custos.mask_unavailable"),
      plan: null,
    };
  }
}
