// Multipart uploads decided once. CreateMultipartUpload is the call the policy decides (an agent's is held
// for review like a PutObject); when it is allowed and the target answers with an UploadId, that id is
// bound to the session with its bucket, key and decision. UploadPart and CompleteMultipartUpload are then
// allowed only for an upload bound to this session and for the same bucket and key — under the decision
// that allowed the upload, with no second review per part — and refused for any other upload id (one
// another session created, or one guessed). UploadPartCopy also reads another object, so it needs the
// binding and its own decision. Bounded: the oldest bindings are forgotten first (their parts refused).
import type { Decision } from "../../core/decision.ts";
import { deny } from "../../core/decision.ts";

export interface BoundUpload {
  bucket: string;
  key: string;
  /** The decision that allowed CreateMultipartUpload (its approval, masking and record mode). */
  decision: Decision;
}

/** Actions allowed by the binding alone. */
export const BOUND_ACTIONS = new Set(["UploadPart", "CompleteMultipartUpload"]);
/** Actions that need the binding and their own decision. */
export const BOUND_AND_DECIDED = new Set(["UploadPartCopy"]);

const MAX_BINDINGS = 1000;

export class MultipartBindings {
  private readonly uploads = new Map<string, BoundUpload>();

  bind(uploadId: string, upload: BoundUpload): void {
    if (this.uploads.size >= MAX_BINDINGS) {
      const oldest = this.uploads.keys().next().value;
      if (oldest !== undefined) this.uploads.delete(oldest);
    }
    this.uploads.set(uploadId, upload);
  }

  forget(uploadId: string): void {
    this.uploads.delete(uploadId);
  }

  /**
   * The decision for a part or completion of `uploadId` at bucket/key: the upload's own (re-labelled so
   * the audit says why), or a denial when this session did not create and get approved that upload.
   */
  decide(uploadId: string | null, bucket: string | null, key: string | null): Decision {
    const bound = uploadId === null ? undefined : this.uploads.get(uploadId);
    if (!bound || bound.bucket !== bucket || bound.key !== key)
      return deny(
        "a multipart part or completion is allowed only for an upload this session created and had allowed",
        "custos.aws_multipart_unbound",
      );
    return {
      ...bound.decision,
      rule: "custos.aws_multipart_bound",
      reason: `part of upload ${uploadId} to ${bucket}/${key}, allowed at CreateMultipartUpload (${bound.decision.rule})`,
    };
  }
}

/** The UploadId of a CreateMultipartUpload answer (S3 API Reference, InitiateMultipartUploadResult). */
export function uploadIdOf(xml: string): string | null {
  const m = /<UploadId>([^<]{1,1024})<\/UploadId>/.exec(xml);
  return m ? m[1]! : null;
}
