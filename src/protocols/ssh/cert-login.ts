// A publickey login with a `custos ssh login` certificate, decided in steps: the certificate itself
// (cert-authority.ts: CA signature, type, validity, principals, critical options), then the gateway's record
// of it (cert-records.ts: issued here, its file verifies, not revoked, still live, same key, the record's
// subject among the principals, the connection it was issued for), then the session signature with the
// certified key. Plain keys are not accepted at all:
// the gateway has no authorized_keys, identity comes from a token or a certificate it issued.
import type ssh2 from "ssh2";
import { type CertificateAuthority, checkCertificate, verifySessionSignature } from "./cert-authority.ts";
import { CERT_ALGO } from "./cert-codec.ts";
import { type CertificateIssuer, type CertificateRecord, fingerprint } from "./cert-issuer.ts";

export type CertificateLogin =
  | { kind: "not-a-certificate" }
  | { kind: "refused"; reason: string }
  /** Well formed and issued here; the client has not signed yet. */
  | { kind: "acceptable" }
  | { kind: "verified"; record: CertificateRecord };

export function certificateLogin(
  certs: { ca: CertificateAuthority; issuer: CertificateIssuer },
  ctx: ssh2.PublicKeyAuthContext,
  nowSec: bigint,
): CertificateLogin {
  if (ctx.key.algo !== CERT_ALGO) return { kind: "not-a-certificate" };
  const checked = checkCertificate(ctx.key.algo, ctx.key.data, certs.ca.publicBlob, nowSec);
  if (!checked.ok) return { kind: "refused", reason: checked.reason };
  const cert = checked.cert;
  const found = certs.issuer.lookup(cert.serial, Number(nowSec));
  if (found.kind === "missing")
    return { kind: "refused", reason: `serial ${cert.serial} is not a live certificate of this gateway` };
  if (found.kind === "invalid") return { kind: "refused", reason: `serial ${cert.serial}: ${found.reason}` };
  const record = found.record;
  if (record.revoked !== null)
    return { kind: "refused", reason: `serial ${cert.serial} was revoked at ${record.revoked.at}` };
  if (record.keyFingerprint !== fingerprint(cert.publicKey))
    return { kind: "refused", reason: `serial ${cert.serial} was issued for another key` };
  if (!cert.principals.includes(record.identity.subject))
    return { kind: "refused", reason: `serial ${cert.serial} does not name its subject as a principal` };
  if (record.connection !== null && record.connection !== ctx.username)
    return {
      kind: "refused",
      reason: `serial ${cert.serial} was issued for connection "${record.connection}"`,
    };
  if (!ctx.signature || !ctx.blob) return { kind: "acceptable" };
  if (!verifySessionSignature(cert, ctx.blob, ctx.signature))
    return { kind: "refused", reason: "the session signature does not verify with the certified key" };
  return { kind: "verified", record };
}
