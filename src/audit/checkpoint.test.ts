import { describe, expect, test } from "bun:test";
import { CustosError } from "../core/errors.ts";
import {
  checkpointBody,
  generateSignerKeys,
  importSigner,
  signCheckpoint,
  signedNote,
  verifyCheckpoint,
} from "./checkpoint.ts";
import { EMPTY_ROOT, leafHash } from "./merkle.ts";

describe("checkpoint", () => {
  test("body is the C2SP checkpoint text with a time extension line", () => {
    expect(checkpointBody("gw-1", 0, EMPTY_ROOT, 1700000000000)).toBe(
      "custos/audit/gw-1\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\ntime 1700000000000\n",
    );
  });

  test("signs and verifies; any changed field or another key fails", async () => {
    const signer = await importSigner(await generateSignerKeys());
    const cp = await signCheckpoint(signer, "gw-1", 5, leafHash(new Uint8Array([1])), 1234);
    expect(await verifyCheckpoint(signer.publicKey, cp)).toBe(true);
    expect(await verifyCheckpoint(signer.publicKey, { ...cp, size: 6 })).toBe(false);
    expect(await verifyCheckpoint(signer.publicKey, { ...cp, time: 1235 })).toBe(false);
    expect(await verifyCheckpoint(signer.publicKey, { ...cp, logId: "gw-2" })).toBe(false);
    expect(await verifyCheckpoint(signer.publicKey, { ...cp, rootHash: EMPTY_ROOT })).toBe(false);
    const other = await importSigner(await generateSignerKeys());
    expect(await verifyCheckpoint(other.publicKey, cp)).toBe(false);
    expect(await verifyCheckpoint(new Uint8Array(3), cp)).toBe(false);
  });

  test("accepts a private JWK and derives the public key from x", async () => {
    const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
      "sign",
      "verify",
    ])) as unknown as CryptoKeyPair;
    const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
    const signer = await importSigner({ privateJwk: jwk as { kty: string; crv: string } });
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    expect(Buffer.from(signer.publicKey).equals(Buffer.from(raw))).toBe(true);
  });

  test("refuses a public key that does not belong to the private key", async () => {
    const a = await generateSignerKeys();
    const b = await generateSignerKeys();
    const err = await importSigner({
      privateKeyPkcs8: a.privateKeyPkcs8,
      publicKeyRaw: b.publicKeyRaw,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(CustosError);
    expect(err.code).toBe("audit.unavailable");
    expect(err.message).toContain("does not match");
  });

  test("refuses garbage key bytes with a clear error", async () => {
    const err = await importSigner({
      privateKeyPkcs8: new Uint8Array(10),
      publicKeyRaw: new Uint8Array(32),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(CustosError);
    expect(err.message).toBe("audit signing key cannot be imported");
  });

  test("signed note carries a 4-byte key hash before the 64-byte signature", async () => {
    const signer = await importSigner(await generateSignerKeys());
    const cp = await signCheckpoint(signer, "gw-1", 1, EMPTY_ROOT, 1);
    const note = signedNote(cp, signer.publicKey);
    const sigLine = note.trimEnd().split("\n").at(-1)!;
    expect(sigLine.startsWith("\u2014 custos/audit/gw-1 ")).toBe(true);
    const blob = Buffer.from(sigLine.split(" ")[2]!, "base64");
    expect(blob.length).toBe(68);
    expect(blob.subarray(4).equals(Buffer.from(cp.signature))).toBe(true);
  });
});
