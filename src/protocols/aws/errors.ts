// Refusals in the caller's own protocol, so the AWS CLI and SDKs print them as they print AWS's errors:
// S3 (REST-XML): <Error><Code/><Message/></Error>; the query protocols (STS, IAM, SQS query):
// <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>; the JSON protocols:
// {"__type": "...#Code", "message": ...} with x-amzn-ErrorType (awsJson1_0/1_1 error serialisation).
import type { WireProtocol } from "./codec.ts";

export interface AwsError {
  status: number;
  /** The AWS error code clients switch on (AccessDenied, SignatureDoesNotMatch…). */
  code: string;
  message: string;
}

function xmlEscape(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** Codes per protocol family where AWS's own names differ (JSON services append "Exception"). */
const JSON_CODES: Record<string, string> = {
  AccessDenied: "AccessDeniedException",
  SignatureDoesNotMatch: "InvalidSignatureException",
  InvalidAccessKeyId: "UnrecognizedClientException",
  ExpiredToken: "ExpiredTokenException",
  MissingAuthenticationToken: "MissingAuthenticationTokenException",
  InvalidRequest: "ValidationException",
  ServiceUnavailable: "ServiceUnavailable",
};

const QUERY_CODES: Record<string, string> = {
  InvalidAccessKeyId: "InvalidClientTokenId",
  InvalidRequest: "InvalidParameterValue",
};

export function errorResponse(protocol: WireProtocol, e: AwsError, requestId: string): Response {
  const headers = new Headers({ "x-amzn-requestid": requestId, "x-amz-request-id": requestId });
  if (protocol === "json") {
    const code = JSON_CODES[e.code] ?? e.code;
    headers.set("content-type", "application/x-amz-json-1.0");
    headers.set("x-amzn-errortype", code);
    return new Response(JSON.stringify({ __type: `com.amazonaws.custos#${code}`, message: e.message }), {
      status: e.status,
      headers,
    });
  }
  headers.set("content-type", "application/xml");
  if (protocol === "query") {
    const code = QUERY_CODES[e.code] ?? e.code;
    const type = e.status >= 500 ? "Receiver" : "Sender";
    return new Response(
      `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>${type}</Type><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(e.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      { status: e.status, headers },
    );
  }
  return new Response(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(e.code)}</Code><Message>${xmlEscape(e.message)}</Message><RequestId>${requestId}</RequestId></Error>`,
    { status: e.status, headers },
  );
}

/** Which error family a request that could not be classified yet is answered in. */
export function protocolOf(service: string | null, headers: Headers): WireProtocol {
  if (headers.get("x-amz-target") !== null) return "json";
  if (service === null || service === "s3") return "rest-xml";
  return "query";
}
