// Every refusal reaches kubectl as the API server's own error shape, a metav1.Status (apimachinery
// pkg/apis/meta/v1 types.go), so it prints `Error from server (Forbidden): …` like any cluster refusal.
import type { ErrorCode } from "../../core/errors.ts";
import { CustosError } from "../../core/errors.ts";

// StatusReason values from metav1 (StatusReasonForbidden, …) with their HTTP codes.
const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  406: "NotAcceptable",
  413: "RequestEntityTooLarge",
  415: "UnsupportedMediaType",
  429: "TooManyRequests",
  500: "InternalError",
  502: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

export function statusFor(code: ErrorCode): number {
  if (code.startsWith("identity.")) return 401;
  switch (code) {
    case "access.unknown_connection":
      return 404;
    case "access.forbidden":
    case "access.insecure_transport":
    case "access.no_grant":
    case "access.grant_expired":
    case "access.grant_revoked":
    case "approval.denied":
    case "approval.timeout":
    case "approval.abandoned":
    case "policy.denied":
    case "policy.unavailable":
      return 403;
    case "protocol.malformed":
      return 400;
    case "protocol.unsupported":
      return 415;
    case "protocol.too_large":
      return 413;
    case "session.limit":
      return 429;
    case "audit.unavailable":
    case "gateway.shutting_down":
      return 503;
    case "upstream.timeout":
      return 504;
    case "upstream.unreachable":
    case "upstream.auth_failed":
    case "upstream.protocol":
      return 502;
    default:
      return 500;
  }
}

export interface KubeStatus {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure";
  message: string;
  reason: string;
  code: number;
  details?: { causes: { reason: string; message: string }[] };
}

export function statusBody(status: number, message: string, custosCode: string): KubeStatus {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason: REASONS[status] ?? "InternalError",
    code: status,
    details: { causes: [{ reason: custosCode, message }] },
  };
}

/** The Status for a CustosError: its code picks the HTTP status; its detail never leaves the gateway. */
export function errorStatus(err: CustosError): { status: number; body: string } {
  const status = statusFor(err.code);
  return { status, body: JSON.stringify(statusBody(status, `custos: ${err.message}`, err.code)) };
}

export function denialError(reason: string, rule: string): CustosError {
  return new CustosError("policy.denied", `${reason} (rule ${rule})`);
}
