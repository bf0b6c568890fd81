// Signed checkpoints in the C2SP tlog-checkpoint shape: `<origin>\n<size>\n<base64 root>\n` plus a `time`
// extension line, signed with the gateway's Ed25519 key (the signer is injected; identity/ owns the key).
import type { webcrypto } from "node:crypto";
import { CustosError } from "../core/errors.ts";
import { sha256 } from "./codec.ts";
import type { CheckpointRow } from "./store.ts";

/** The gateway key as identity/ hands it over: PKCS#8 private key plus raw public key, or a private JWK. */
export type SignerKeys =
  | { privateKeyPkcs8: Uint8Array; publicKeyRaw: Uint8Array }
  | { privateJwk: Ed25519Jwk };

/** An OKP/Ed25519 private JWK (RFC 8037): `x` is the public key, `d` the private one. */
export interface Ed25519Jwk {
  kty: string;
  crv: string;
  x?: string;
  d?: string;
  [k: string]: unknown;
}

export interface CheckpointSigner {
  /** Raw 32-byte Ed25519 public key, stored in audit_logs. */
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

const ED25519 = { name: "Ed25519" } as const;

/** WebCrypto wants ArrayBuffer-backed views; copies are 32-64 bytes. */
const owned = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

export function checkpointOrigin(logId: string): string {
  return `custos/audit/${logId}`;
}

export function checkpointBody(logId: string, size: number, root: Uint8Array, time: number): string {
  return `${checkpointOrigin(logId)}\n${size}\n${Buffer.from(root).toString("base64")}\ntime ${time}\n`;
}

export async function importSigner(keys: SignerKeys): Promise<CheckpointSigner> {
  let privateKey: CryptoKey;
  let publicKey: Uint8Array;
  try {
    if ("privateJwk" in keys) {
      const { d, x } = keys.privateJwk;
      if (!d || !x) throw new Error("JWK lacks d or x");
      privateKey = await crypto.subtle.importKey(
        "jwk",
        keys.privateJwk as webcrypto.JsonWebKey,
        ED25519,
        false,
        ["sign"],
      );
      publicKey = new Uint8Array(Buffer.from(x, "base64url"));
    } else {
      privateKey = await crypto.subtle.importKey("pkcs8", owned(keys.privateKeyPkcs8), ED25519, false, [
        "sign",
      ]);
      publicKey = new Uint8Array(keys.publicKeyRaw);
    }
  } catch (err) {
    throw new CustosError("audit.unavailable", "audit signing key cannot be imported", {
      cause: err instanceof Error ? err.message : String(err),
    });
  }
  const signer: CheckpointSigner = {
    publicKey,
    sign: async (message) => new Uint8Array(await crypto.subtle.sign(ED25519, privateKey, owned(message))),
  };
  // A public key that does not match the private one would make every checkpoint unverifiable: refuse now.
  const probe = new TextEncoder().encode("custos audit key check");
  if (!(await verifySignature(publicKey, probe, await signer.sign(probe)))) {
    throw new CustosError("audit.unavailable", "audit signing key pair does not match");
  }
  return signer;
}

/** A fresh key pair, for tests and first runs before identity/ provides the gateway key. */
export async function generateSignerKeys(): Promise<{
  privateKeyPkcs8: Uint8Array;
  publicKeyRaw: Uint8Array;
}> {
  const pair = (await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"])) as CryptoKeyPair;
  return {
    privateKeyPkcs8: new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey)),
    publicKeyRaw: new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)),
  };
}

export async function signCheckpoint(
  signer: CheckpointSigner,
  logId: string,
  size: number,
  root: Uint8Array,
  time: number,
): Promise<CheckpointRow> {
  const body = new TextEncoder().encode(checkpointBody(logId, size, root, time));
  return { logId, size, rootHash: root, time, signature: await signer.sign(body) };
}

export async function verifySignature(
  publicKey: Uint8Array,
  message: Uint8Array,
  sig: Uint8Array,
): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey("raw", owned(publicKey), ED25519, false, ["verify"]);
    return await crypto.subtle.verify(ED25519, key, owned(sig), owned(message));
  } catch {
    return false;
  }
}

export function verifyCheckpoint(publicKey: Uint8Array, cp: CheckpointRow): Promise<boolean> {
  const body = new TextEncoder().encode(checkpointBody(cp.logId, cp.size, cp.rootHash, cp.time));
  return verifySignature(publicKey, body, cp.signature);
}

/**
 * The checkpoint as a C2SP signed note, for export to witnesses and auditors:
 * body, blank line, `— <name> base64(keyhash[0:4] || signature)` with keyhash = SHA-256(name\n 0x01 key).
 */
export function signedNote(
  cp: CheckpointRow,
  publicKey: Uint8Array,
  keyName = checkpointOrigin(cp.logId),
): string {
  const keyHash = sha256(
    Buffer.concat([Buffer.from(`${keyName}\n`), Buffer.from([0x01]), publicKey]),
  ).subarray(0, 4);
  const sig = Buffer.concat([keyHash, cp.signature]).toString("base64");
  return `${checkpointBody(cp.logId, cp.size, cp.rootHash, cp.time)}\n\u2014 ${keyName} ${sig}\n`;
}
