// The policy input (Command.details) and decision-cache key (Command.shape) of a classified AWS call.
import type { Command } from "../../core/command.ts";
import { sha256Hex } from "../../net/sigv4.ts";
import type { AwsOperation } from "./codec.ts";

/** The policy input and cache key of a classified call. */
export function commandOf(
  op: AwsOperation,
  method: string,
  relayed: Record<string, string>,
  presigned: boolean,
): Command {
  const amzHeaders = Object.fromEntries(
    Object.entries(relayed).filter(([n]) => n.startsWith("x-amz-") && !n.startsWith("x-amz-meta-")),
  );
  const details: Record<string, unknown> = {
    service: op.service,
    action: op.action,
    resource: op.resource,
    method,
    ...(op.s3 ? { bucket: op.s3.bucket, key: op.s3.key, subresource: op.s3.subresource } : {}),
    ...(op.params ? { params: op.params } : { params_skipped: op.params_skipped }),
    headers: amzHeaders,
    // Signed in the query (a presigned URL someone may have passed on) rather than in the header.
    ...(presigned ? { presigned: true } : {}),
  };
  const shape = JSON.stringify(details);
  return {
    protocol: "aws",
    text: `${op.service}:${op.action} ${op.resource}`,
    details,
    shape: shape.length > 512 ? `aws:${sha256Hex(shape)}` : shape,
  };
}
