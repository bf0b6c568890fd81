import { describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CustosError } from "../core/errors.ts";
import { GATEWAY_KEY_FILE, loadOrCreateGatewayKey } from "./gateway-key.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "custos-key-"));

describe("loadOrCreateGatewayKey", () => {
  test("creates an Ed25519 key once, 0600, and loads the same key afterwards", async () => {
    const dataDir = join(tmp(), "data");
    const a = await loadOrCreateGatewayKey(dataDir);
    const path = join(dataDir, GATEWAY_KEY_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dataDir)).toEqual([GATEWAY_KEY_FILE]); // no temp file left behind
    expect(readFileSync(path, "utf8")).toStartWith("-----BEGIN PRIVATE KEY-----\n");
    const b = await loadOrCreateGatewayKey(dataDir);
    expect(b.kid).toBe(a.kid);
    expect(b.publicRaw).toEqual(a.publicRaw);
    expect(b.pkcs8).toEqual(a.pkcs8);
    expect(a.publicRaw.length).toBe(32);
    expect(a.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.publicJwk).toEqual({
      kty: "OKP",
      crv: "Ed25519",
      x: a.publicJwk.x,
      kid: a.kid,
      alg: "EdDSA",
      use: "sig",
    });
    expect(a.privateKey.extractable).toBe(false);
    // The pair works: what the private key signs, the public key (and the raw bytes) verify.
    const msg = new TextEncoder().encode("checkpoint");
    const sig = new Uint8Array(await crypto.subtle.sign("Ed25519", a.privateKey, msg));
    expect(await crypto.subtle.verify("Ed25519", b.publicKey, sig, msg)).toBe(true);
    const raw = await crypto.subtle.importKey("raw", a.publicRaw, { name: "Ed25519" }, false, ["verify"]);
    expect(await crypto.subtle.verify("Ed25519", raw, sig, msg)).toBe(true);
  });

  test("concurrent first starts agree on one key", async () => {
    const dataDir = tmp();
    const keys = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateGatewayKey(dataDir)));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    expect(readdirSync(dataDir)).toEqual([GATEWAY_KEY_FILE]);
  });

  test("refuses a key file readable by group or others", async () => {
    const dataDir = tmp();
    await loadOrCreateGatewayKey(dataDir);
    const path = join(dataDir, GATEWAY_KEY_FILE);
    for (const mode of [0o640, 0o604, 0o644]) {
      chmodSync(path, mode);
      const err = await loadOrCreateGatewayKey(dataDir).catch((e) => e);
      expect(err).toBeInstanceOf(CustosError);
      expect(err.code).toBe("config.invalid");
      expect(err.message).toBe(
        `${path}: key file is readable by group or others (mode ${mode.toString(8)}); run: chmod 600 ${path}`,
      );
    }
  });

  test("refuses a key file that is not an Ed25519 PKCS#8 key", async () => {
    const dataDir = tmp();
    const path = join(dataDir, GATEWAY_KEY_FILE);
    writeFileSync(path, "hello", { mode: 0o600 });
    const err = await loadOrCreateGatewayKey(dataDir).catch((e) => e);
    expect(err.code).toBe("config.invalid");
    expect(err.message).toBe(`${path}: not an Ed25519 PKCS#8 private key`);
    const ec = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
    ])) as CryptoKeyPair;
    const der = Buffer.from(await crypto.subtle.exportKey("pkcs8", ec.privateKey)).toString("base64");
    writeFileSync(path, `-----BEGIN PRIVATE KEY-----\n${der}\n-----END PRIVATE KEY-----\n`, { mode: 0o600 });
    expect((await loadOrCreateGatewayKey(dataDir).catch((e) => e)).message).toBe(
      `${path}: not an Ed25519 PKCS#8 private key`,
    );
  });
});
