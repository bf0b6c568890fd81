// Request bodies that stream rather than being read whole: which calls stream (S3 object uploads), and
// the check of a streamed body's signed hex hash as it passes.
import { CustosError } from "../../core/errors.ts";
import { withoutPresign } from "./presigned.ts";
import { queryPairs } from "./verify.ts";

/** An S3 object PUT (`/bucket/key`), plain or as a part of a multipart upload. */
export function streamsBody(service: string, method: string, rawPath: string, rawQuery: string): boolean {
  if (service !== "s3" || method !== "PUT") return false;
  const slash = rawPath.indexOf("/", 1);
  if (slash === -1 || slash === rawPath.length - 1) return false;
  const names = withoutPresign(queryPairs(rawQuery) ?? [])
    .map(([k]) => k)
    .filter((k) => k !== "x-id");
  return (
    names.length === 0 || (names.length === 2 && names.includes("partNumber") && names.includes("uploadId"))
  );
}

/**
 * A streamed body whose signed hash (hex mode) is checked as it passes. The last piece is held back
 * until the hash is known, so a body that does not match never reaches the target whole (its declared
 * length unmet, the upload fails there).
 */
export function payloadCheck(
  expected: string | null,
  onData: (d: Uint8Array) => void,
): TransformStream<Uint8Array, Uint8Array> {
  const hash = new Bun.CryptoHasher("sha256");
  let held: Uint8Array | null = null;
  return new TransformStream({
    transform(chunk, controller) {
      if (expected !== null) hash.update(chunk);
      onData(chunk);
      if (held !== null) controller.enqueue(held);
      held = chunk;
    },
    flush(controller) {
      if (expected !== null && hash.digest("hex") !== expected)
        throw new CustosError(
          "protocol.malformed",
          "the body does not match its signed x-amz-content-sha256",
        );
      if (held !== null) controller.enqueue(held);
    },
  });
}
