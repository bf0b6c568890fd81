// The HTTP anchor (a witness): each checkpoint POSTed as JSON with the signed note and the public key,
// authenticated by a bearer token or an HMAC-SHA256 over "<timestamp>.<body>" (the approvals webhook's
// scheme: x-custos-signature / x-custos-timestamp). A non-2xx answer or a time-out is a failure the
// publisher retries.
import { createHmac } from "node:crypto";
import type { AnchoredCheckpoint, AnchorPublicKey, CheckpointAnchor } from "../anchor.ts";

export interface HttpAnchorOptions {
  name: string;
  url: string;
  /** The shared secret (never logged); null sends no authentication. */
  secret: string | null;
  auth: "hmac" | "bearer";
  timeoutMs?: number;
}

export const SIGNATURE_HEADER = "x-custos-signature";
export const TIMESTAMP_HEADER = "x-custos-timestamp";

export function anchorSignature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export function httpAnchor(o: HttpAnchorOptions): CheckpointAnchor {
  return {
    name: o.name,
    async publish(cp: AnchoredCheckpoint, key: AnchorPublicKey) {
      const body = JSON.stringify({
        type: "custos.checkpoint",
        log_id: cp.logId,
        size: cp.size,
        root_hash: Buffer.from(cp.rootHash).toString("base64"),
        time: cp.time,
        note: cp.note,
        public_key: key.vkey,
        fingerprint: key.fingerprint,
      });
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (o.secret !== null) {
        if (o.auth === "bearer") headers.authorization = `Bearer ${o.secret}`;
        else {
          const ts = Math.floor(Date.now() / 1000);
          headers[TIMESTAMP_HEADER] = String(ts);
          headers[SIGNATURE_HEADER] = anchorSignature(o.secret, ts, body);
        }
      }
      const res = await fetch(o.url, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
      });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`${new URL(o.url).origin} answered ${res.status}`);
    },
  };
}
