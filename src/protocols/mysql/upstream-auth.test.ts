// The upstream leg's authentication answers against published vectors: MariaDB's own client_ed25519
// vectors (MariaDB/server plugin/auth_ed25519/ed25519-t.c: password "foobar", nonce 32 x 'A'), RFC 8032
// Ed25519 via node:crypto for 32-byte passwords (where MariaDB's scheme and RFC 8032 coincide), the
// caching_sha2_password fast-path scramble, and the refusals that keep the password off a plain connection.
import { describe, expect, test } from "bun:test";
import { createPrivateKey, createPublicKey, randomBytes, sign } from "node:crypto";
import { ED25519, ed25519PublicKey, ed25519Sign } from "./auth-ed25519.ts";
import { CACHING_SHA2, NATIVE, parseAuthSwitch, sha2Scramble } from "./handshake.ts";
import { cachingSha2MoreData, openingPlugin, pluginAnswer } from "./upstream-auth.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
// ed25519-t.c: foobar_pk and foobar_sign.
const FOOBAR_PK = [
  170, 253, 166, 27, 161, 214, 10, 236, 183, 217, 41, 91, 231, 24, 85, 225, 49, 210, 181, 236, 13, 207, 101,
  72, 53, 83, 219, 130, 79, 151, 0, 159,
];
const FOOBAR_SIGN = [
  232, 61, 201, 63, 67, 63, 51, 53, 86, 73, 238, 35, 170, 117, 146, 214, 26, 17, 35, 9, 8, 132, 245, 141, 48,
  99, 66, 58, 36, 228, 48, 84, 115, 254, 187, 168, 88, 162, 249, 57, 35, 85, 79, 238, 167, 106, 68, 117, 56,
  135, 171, 47, 20, 14, 133, 79, 15, 229, 124, 160, 176, 100, 138, 14,
];

describe("client_ed25519 (MariaDB)", () => {
  test("MariaDB's own vectors: the public key and the signature of 32 x 'A' under 'foobar'", () => {
    expect([...ed25519PublicKey(bytes("foobar"))]).toEqual(FOOBAR_PK);
    expect([...ed25519Sign(bytes("foobar"), new Uint8Array(32).fill(0x41))]).toEqual(FOOBAR_SIGN);
  });

  test("for a 32-byte password it is RFC 8032 Ed25519 with that seed (node:crypto), and verifies", () => {
    // PKCS#8 prefix of an Ed25519 private key (RFC 8410 §7), followed by the 32-byte seed.
    const pkcs8 = Buffer.from("302e020100300506032b657004220420", "hex");
    for (let i = 0; i < 8; i++) {
      const seed = randomBytes(32);
      const nonce = randomBytes(32);
      const key = createPrivateKey({ key: Buffer.concat([pkcs8, seed]), format: "der", type: "pkcs8" });
      const spki = createPublicKey(key).export({ format: "der", type: "spki" });
      expect(Buffer.from(ed25519PublicKey(seed)).equals(spki.subarray(spki.length - 32))).toBe(true);
      expect(Buffer.from(ed25519Sign(seed, nonce)).equals(sign(null, nonce, key))).toBe(true);
    }
  });

  test("a different password or nonce gives a different signature", () => {
    const nonce = new Uint8Array(32).fill(0x41);
    expect([...ed25519Sign(bytes("foobaR"), nonce)]).not.toEqual(FOOBAR_SIGN);
    expect([...ed25519Sign(bytes("foobar"), new Uint8Array(32).fill(0x42))]).not.toEqual(FOOBAR_SIGN);
  });

  test("the AuthSwitch answer signs the nonce as sent, even one ending in a zero byte; other lengths fail closed", () => {
    const nonce = new Uint8Array(32).fill(0x41);
    nonce[31] = 0;
    expect([...pluginAnswer(ED25519, "foobar", nonce)]).toEqual([...ed25519Sign(bytes("foobar"), nonce)]);
    expect(() => pluginAnswer(ED25519, "foobar", nonce.subarray(0, 31))).toThrow(/nonce is 31 bytes/);
    expect(() => pluginAnswer(ED25519, "foobar", new Uint8Array(33))).toThrow(/refused/);
  });
});

describe("upstream plugin choice", () => {
  test("an unknown plugin fails closed with its (sanitised) name and the plugins the gateway speaks", () => {
    for (const name of ["mysql_clear_password", "dialog", "auth_gssapi_client", "sha256_password"]) {
      expect(() => pluginAnswer(name, "pw", new Uint8Array(20))).toThrow(
        new RegExp(`${name} authentication plugin.*does not speak upstream`),
      );
    }
    let message = "";
    try {
      pluginAnswer("evil\nline\u0000", "s3cret-pw", new Uint8Array(20));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("evil?line?");
    expect(message).not.toContain("s3cret-pw");
  });

  test("the opening plugin is caching_sha2 or native; ed25519 waits for the server's nonce", () => {
    expect(openingPlugin(CACHING_SHA2)).toBe(CACHING_SHA2);
    expect(openingPlugin(NATIVE)).toBe(NATIVE);
    expect(openingPlugin(ED25519)).toBe(NATIVE);
  });
});

describe("caching_sha2_password (untested against a real MySQL 8 here: none is installable)", () => {
  test("the fast-path scramble matches a published vector", () => {
    // go-sql-driver/mysql auth_test.go TestSHA256Pass: the formula of MySQL's sha2_password_common.cc
    // (generate_sha2_scramble): SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) || nonce).
    const scramble = new Uint8Array([
      10, 47, 74, 111, 75, 73, 34, 48, 88, 76, 114, 74, 37, 13, 3, 80, 82, 2, 23, 21,
    ]);
    expect(Buffer.from(sha2Scramble("secret", scramble)).toString("hex")).toBe(
      "f490e76f66d9d86665ce54d98c78d0acfe2fb0b08b423da807144873d30b312c",
    );
    expect(Buffer.from(sha2Scramble("secret2", scramble)).toString("hex")).toBe(
      "abc3934a012cf342e876071c8ee202de51785b430258a7a0138bc79c4d800bc6",
    );
    // AuthSwitchRequest carries the scramble NUL-terminated: the terminator is not part of it.
    expect([...pluginAnswer(CACHING_SHA2, "secret", new Uint8Array([...scramble, 0]))]).toEqual([
      ...sha2Scramble("secret", scramble),
    ]);
  });

  test("fast auth success waits for the OK; full authentication sends the password only over TLS", () => {
    expect(cachingSha2MoreData(new Uint8Array([1, 3]), "none", "pw")).toBeNull();
    expect(() => cachingSha2MoreData(new Uint8Array([1, 4]), "none", "pw")).toThrow(/without TLS/);
    // TLS to a server whose certificate was not checked (prefer, require): the password is not sent either.
    expect(() => cachingSha2MoreData(new Uint8Array([1, 4]), "unverified", "pw")).toThrow(/not verified/);
    expect([...cachingSha2MoreData(new Uint8Array([1, 4]), "verified", "pw")!]).toEqual([0x70, 0x77, 0]);
  });

  test("anything else (an unasked-for public key, a longer status) fails closed", () => {
    const pem = bytes("\u0001-----BEGIN PUBLIC KEY-----\n...");
    expect(() => cachingSha2MoreData(pem, "none", "pw")).toThrow(/refused/);
    expect(() => cachingSha2MoreData(pem, "verified", "pw")).toThrow(/refused/);
    expect(() => cachingSha2MoreData(new Uint8Array([1, 4, 0]), "verified", "pw")).toThrow(/refused/);
  });
});

describe("AuthSwitchRequest parsing", () => {
  test("data is kept as sent; a lone 0xfe is the old switch to mysql_old_password, refused by name", () => {
    const sw = parseAuthSwitch(new Uint8Array([0xfe, ...bytes("client_ed25519"), 0, 1, 2, 0]));
    expect([sw.plugin, [...sw.data]]).toEqual([ED25519, [1, 2, 0]]);
    const old = parseAuthSwitch(new Uint8Array([0xfe]));
    expect(old.plugin).toBe("mysql_old_password");
    expect(() => pluginAnswer(old.plugin, "pw", old.data)).toThrow(
      /mysql_old_password authentication plugin/,
    );
  });
});
