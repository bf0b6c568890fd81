// The gateway's own Ed25519 key: signs gateway tokens (and, elsewhere, audit checkpoints). Created once
// in data_dir as a PKCS#8 PEM file with mode 0600; the gateway refuses to start if that file is
// readable by group or others, because anyone who reads it can mint tokens.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { calculateJwkThumbprint, type JWK } from "jose";
import { readPrivateFile, writePrivateFileOnce } from "../config/private-file.ts";
import { CustosError } from "../core/errors.ts";

export const GATEWAY_KEY_FILE = "gateway-key.pem";

export interface GatewayKey {
  /** Non-extractable signing key. */
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** {kty: OKP, crv: Ed25519, x, kid, alg: EdDSA, use: sig}. */
  publicJwk: JWK;
  /** RFC 7638 thumbprint of the public key. */
  kid: string;
  pkcs8: Uint8Array<ArrayBuffer>;
  /** The 32-byte Ed25519 public key. */
  publicRaw: Uint8Array<ArrayBuffer>;
  path: string;
}

export async function loadOrCreateGatewayKey(dataDir: string): Promise<GatewayKey> {
  const path = join(dataDir, GATEWAY_KEY_FILE);
  let pem = readPrivateFile(path);
  if (pem === null) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
      "sign",
      "verify",
    ])) as unknown as CryptoKeyPair;
    const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
    writePrivateFileOnce(path, toPem(der));
    // Another process may have won the race to create it: use whatever is on disk.
    pem = readPrivateFile(path);
    if (pem === null) throw new CustosError("internal", `${path}: gateway key vanished after creation`);
  }
  return importGatewayKey(pem, path);
}

async function importGatewayKey(pem: string, path: string): Promise<GatewayKey> {
  const body = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(pem)?.[1];
  const invalid = () => new CustosError("config.invalid", `${path}: not an Ed25519 PKCS#8 private key`);
  if (!body) throw invalid();
  const pkcs8 = new Uint8Array(Buffer.from(body.replace(/\s+/g, ""), "base64"));
  let jwk: JWK;
  let privateKey: CryptoKey;
  try {
    const extractable = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
    jwk = (await crypto.subtle.exportKey("jwk", extractable)) as JWK;
    privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
  } catch {
    throw invalid();
  }
  if (!jwk.x) throw invalid();
  const base = { kty: "OKP", crv: "Ed25519", x: jwk.x };
  const kid = await calculateJwkThumbprint(base, "sha256");
  const publicKey = await crypto.subtle.importKey("jwk", base, { name: "Ed25519" }, true, ["verify"]);
  return {
    privateKey,
    publicKey,
    publicJwk: { ...base, kid, alg: "EdDSA", use: "sig" },
    kid,
    pkcs8,
    publicRaw: new Uint8Array(Buffer.from(jwk.x, "base64url")),
    path,
  };
}

function toPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64");
  return `-----BEGIN PRIVATE KEY-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END PRIVATE KEY-----\n`;
}
