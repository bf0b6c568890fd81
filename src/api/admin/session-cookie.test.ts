import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import type { Identity } from "../../core/identity.ts";
import { openSession, seal, sealSession, unseal } from "./session-cookie.ts";

const key = new Uint8Array(randomBytes(32));
const identity: Identity = {
  subject: "ann",
  issuer: "https://idp.example",
  groups: ["auditors"],
  kind: "human",
  method: "oidc",
  expiresAt: 2_000_000,
  context: { amr: ["mfa"] },
};

test("a sealed session opens with the same key before it expires, and hides its content", () => {
  const value = sealSession({ identity, expiresAt: 2_000_000, via: "oidc" }, key);
  expect(value).not.toContain("auditors");
  expect(Buffer.from(value.split(".")[2]!, "base64url").toString()).not.toContain("ann");
  expect(openSession(value, key, 1_000_000)?.identity).toEqual(identity);
  expect(openSession(value, key, 2_000_000)).toBeNull();
});

test("another key, a flipped byte, a truncated value or another purpose opens nothing", () => {
  const value = sealSession({ identity, expiresAt: 2_000_000, via: "link" }, key);
  expect(openSession(value, new Uint8Array(randomBytes(32)), 0)).toBeNull();
  const parts = value.split(".");
  const body = Buffer.from(parts[2]!, "base64url");
  body[0] = body[0]! ^ 1;
  expect(
    openSession([parts[0], parts[1], body.toString("base64url"), parts[3]].join("."), key, 0),
  ).toBeNull();
  expect(openSession(parts.slice(0, 3).join("."), key, 0)).toBeNull();
  expect(openSession("v2.a.b.c", key, 0)).toBeNull();
  expect(openSession("", key, 0)).toBeNull();
  const login = seal({ identity, expiresAt: 2_000_000 }, key, "login");
  expect(openSession(login, key, 0)).toBeNull();
  expect(unseal(login, key, "login")).toMatchObject({ expiresAt: 2_000_000 });
});

test("a well-sealed value of the wrong shape is refused", () => {
  expect(openSession(seal({ expiresAt: 5 }, key, "session"), key, 0)).toBeNull();
  expect(openSession(seal({ identity: { subject: 1 }, expiresAt: 5 }, key, "session"), key, 0)).toBeNull();
  expect(openSession(seal("text", key, "session"), key, 0)).toBeNull();
});
