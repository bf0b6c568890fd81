// The gateway's SSH user CA: its ed25519 key kept in data_dir (mode 0600, created on first start, like the
// host key), signing the certificates `custos ssh login` asks for, and checking a certificate a client logs
// in with. ssh2's server verifies no certificate itself (it hands the publickey request through as bytes),
// so every check is here: the CA's signature, the certificate type, the validity window, that principals are
// named, that no critical option is present, and the client's session signature made with the certified key.
import { createPublicKey, type KeyObject, randomBytes, verify } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ssh2 from "ssh2";
import {
  CERT_ALGO,
  CERT_TYPE_USER,
  CertFormatError,
  ed25519FromBlob,
  ed25519Signature,
  encodeCertificate,
  encodeToBeSigned,
  parseUserCertificate,
  type UserCertificate,
} from "./cert-codec.ts";
import { generateEd25519 } from "./keygen.ts";

export const CA_KEY_FILE = "ssh_user_ca_ed25519_key";

export interface CertificateAuthority {
  /** `ssh-ed25519 AAAA…`, the CA's public key line. */
  readonly publicKey: string;
  readonly publicBlob: Uint8Array;
  sign(fields: {
    publicKey: Uint8Array;
    serial: bigint;
    keyId: string;
    principals: string[];
    validAfter: bigint;
    validBefore: bigint;
    extensions: string[];
  }): Uint8Array;
  /** Signs a certificate record (cert-records.ts) with the CA key, so an edited record file is refused. */
  signRecord(data: Uint8Array): Uint8Array;
  verifyRecord(data: Uint8Array, signature: Uint8Array): boolean;
}

export function loadOrCreateCa(dataDir: string): CertificateAuthority {
  const file = join(dataDir, CA_KEY_FILE);
  if (!existsSync(file)) {
    const pair = generateEd25519("custos ssh user ca");
    writeFileSync(file, pair.private, { mode: 0o600 });
    writeFileSync(`${file}.pub`, `${pair.public}\n`, { mode: 0o644 });
  }
  return loadCa(dataDir);
}

/** The CA of an existing data_dir (the CLI's `ssh revoke`); throws when it has none. */
export function loadCa(dataDir: string): CertificateAuthority {
  const file = join(dataDir, CA_KEY_FILE);
  chmodSync(file, 0o600);
  const parsed = ssh2.utils.parseKey(readFileSync(file, "utf8"));
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? parsed[0]! : parsed;
  if (key.type !== "ssh-ed25519") throw new Error(`${file} is not an ed25519 key`);
  const publicBlob = new Uint8Array(key.getPublicSSH());
  return {
    publicKey: `ssh-ed25519 ${Buffer.from(publicBlob).toString("base64")}`,
    publicBlob,
    sign(f) {
      const toBeSigned = encodeToBeSigned({
        nonce: randomBytes(32),
        publicKey: f.publicKey,
        serial: f.serial,
        type: CERT_TYPE_USER,
        keyId: f.keyId,
        principals: f.principals,
        validAfter: f.validAfter,
        validBefore: f.validBefore,
        criticalOptions: new Map(),
        extensions: new Map(f.extensions.map((e) => [e, new Uint8Array(0)])),
        signatureKey: publicBlob,
      });
      const sig = key.sign(Buffer.from(toBeSigned));
      if (sig instanceof Error) throw sig;
      return encodeCertificate(toBeSigned, new Uint8Array(sig));
    },
    signRecord(data) {
      const sig = key.sign(Buffer.from(data));
      if (sig instanceof Error) throw sig;
      return new Uint8Array(sig);
    },
    verifyRecord(data, signature) {
      return key.verify(Buffer.from(data), Buffer.from(signature)) === true;
    },
  };
}

export type CertificateCheck = { ok: true; cert: UserCertificate } | { ok: false; reason: string };

/**
 * Everything about a presented certificate that does not need the session signature: its format, the CA that
 * signed it (this gateway's, byte for byte, and the signature verifies), user type, validity at `nowSec`,
 * named principals (PROTOCOL.certkeys: an empty list means any principal, which this gateway never issues),
 * and no critical options (none is implemented here, so each would be a restriction silently dropped).
 */
export function checkCertificate(
  algo: string,
  blob: Uint8Array,
  caBlob: Uint8Array,
  nowSec: bigint,
): CertificateCheck {
  if (algo !== CERT_ALGO) return { ok: false, reason: `key type ${algo} is not accepted` };
  let cert: UserCertificate;
  try {
    cert = parseUserCertificate(blob);
  } catch (err) {
    if (err instanceof CertFormatError) return { ok: false, reason: `malformed certificate: ${err.message}` };
    throw err;
  }
  if (!Buffer.from(cert.signatureKey).equals(Buffer.from(caBlob)))
    return { ok: false, reason: "the certificate is not signed by this gateway's CA" };
  const caKey = ed25519FromBlob(caBlob);
  const caSig = ed25519Signature(cert.signature);
  if (!caKey || !caSig || !verify(null, cert.signed, ed25519Key(caKey), caSig))
    return { ok: false, reason: "the certificate's CA signature does not verify" };
  if (cert.type !== CERT_TYPE_USER) return { ok: false, reason: "not a user certificate" };
  if (nowSec < cert.validAfter) return { ok: false, reason: "the certificate is not valid yet" };
  if (nowSec >= cert.validBefore) return { ok: false, reason: "the certificate has expired" };
  if (cert.principals.length === 0) return { ok: false, reason: "the certificate names no principal" };
  if (cert.criticalOptions.size > 0)
    return {
      ok: false,
      reason: `critical options are not supported: ${[...cert.criticalOptions.keys()].join(", ")}`,
    };
  return { ok: true, cert };
}

/**
 * The client's proof of the certified key (RFC 4252 §7): a signature over the session id and the request.
 * PROTOCOL.certkeys: it is made with the underlying algorithm (`ssh-ed25519`), so ssh2 leaves the blob whole.
 */
export function verifySessionSignature(
  cert: UserCertificate,
  signedData: Uint8Array,
  signature: Uint8Array,
): boolean {
  const raw = ed25519Signature(signature) ?? (signature.length === 64 ? signature : null);
  if (!raw) return false;
  try {
    return verify(null, signedData, ed25519Key(cert.publicKey), raw);
  } catch {
    return false;
  }
}

function ed25519Key(raw: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") },
    format: "jwk",
  });
}
