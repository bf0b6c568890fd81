import { describe, expect, test } from "bun:test";
import {
  CertFormatError,
  ed25519Blob,
  encodeCertificate,
  encodeToBeSigned,
  parseUserCertificate,
  type UnsignedCertificate,
} from "./cert-codec.ts";

const fields: UnsignedCertificate = {
  nonce: new Uint8Array(32).fill(7),
  publicKey: new Uint8Array(32).fill(1),
  serial: 0xfedcba9876543210n,
  type: 1,
  keyId: "custos:dana",
  principals: ["dana", "ops"],
  validAfter: 100n,
  validBefore: 0xffffffffffffffffn,
  criticalOptions: new Map(),
  extensions: new Map([
    ["permit-pty", new Uint8Array(0)],
    ["permit-X11-forwarding", new Uint8Array(0)],
  ]),
  signatureKey: ed25519Blob(new Uint8Array(32).fill(9)),
};
const sig = new Uint8Array(64).fill(3);

describe("OpenSSH certificate codec", () => {
  test("round trip; extensions written in lexical order; signed part ends at the signature key", () => {
    const tbs = encodeToBeSigned(fields);
    const cert = parseUserCertificate(encodeCertificate(tbs, sig));
    expect(cert.serial).toBe(fields.serial);
    expect(cert.principals).toEqual(["dana", "ops"]);
    expect(cert.validBefore).toBe(0xffffffffffffffffn);
    expect([...cert.extensions.keys()]).toEqual(["permit-X11-forwarding", "permit-pty"]);
    expect(Buffer.from(cert.signed).equals(Buffer.from(tbs))).toBe(true);
  });

  test("truncation, trailing bytes, another key type and unordered options are refused", () => {
    const whole = encodeCertificate(encodeToBeSigned(fields), sig);
    for (let n = 0; n < whole.length; n += 37)
      expect(() => parseUserCertificate(whole.subarray(0, n))).toThrow(CertFormatError);
    const trailing = new Uint8Array(whole.length + 1);
    trailing.set(whole);
    expect(() => parseUserCertificate(trailing)).toThrow(CertFormatError);
    const rsa = new Uint8Array(whole);
    rsa.set(new TextEncoder().encode("ssh-rsa-cert-v01@openssh.com").subarray(0, 11), 4);
    expect(() => parseUserCertificate(rsa)).toThrow(CertFormatError);
    // Options out of lexical order (how a repeated restriction could hide) are malformed.
    const twice = encodeToBeSigned(fields);
    const text = Buffer.from(twice);
    const at = text.indexOf("permit-X11-forwarding");
    text.write("permit-pty\0\0\0\0\0\0\0\0\0\0\0", at);
    expect(() => parseUserCertificate(encodeCertificate(text, sig))).toThrow(CertFormatError);
  });
});
