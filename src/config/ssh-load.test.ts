import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { parseConfig } from "./load.ts";
import { knownHostsFor, parseKeyLine } from "./ssh-load.ts";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILseWug0XjgT3gZ5NM04/RfP2eufvJ57GBYqBFSepTqH";
const OTHER = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHldPYtaZ3kKqgqXr2Jv6eYb1XWf3bS3VQwCgyXyJmmO";

const base = (target: Record<string, unknown>) => ({
  connections: [
    {
      name: "build-host",
      type: "ssh",
      target: { host: "10.0.0.5", user: "deploy", password_env: "PW", ...target },
      allow_groups: ["sre"],
    },
  ],
});

describe("ssh connections", () => {
  test("a key line parses only when its blob names its own type", () => {
    expect(parseKeyLine(KEY)?.type).toBe("ssh-ed25519");
    expect(parseKeyLine(`ssh-rsa ${KEY.split(" ")[1]}`)).toBeNull();
    expect(parseKeyLine("ssh-ed25519 not*base64")).toBeNull();
  });

  test("known_hosts entries match the host field, plain or hashed, and skip markers", () => {
    const salt = Buffer.from("0123456789abcdef0123");
    const hashed = `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update("[10.0.0.5]:2200").digest("base64")}`;
    const text = [
      "# comment",
      `10.0.0.5 ${OTHER}`,
      `@cert-authority [10.0.0.5]:2200 ${OTHER}`,
      `${hashed} ${KEY}`,
      `other,[10.0.0.5]:2201 ${OTHER}`,
    ].join("\n");
    expect(knownHostsFor(text, "10.0.0.5", 2200).map((k) => Buffer.from(k.blob).toString("base64"))).toEqual([
      KEY.split(" ")[1]!,
    ]);
    expect(knownHostsFor(text, "10.0.0.5", 22)).toHaveLength(1);
    expect(knownHostsFor(text, "10.0.0.6", 22)).toHaveLength(0);
  });

  test("a target needs exactly one credential and exactly one pinned host key", () => {
    const env = { PW: "secret" };
    const ok = parseConfig(base({ host_key: KEY }), "/tmp", env);
    expect(ok.protocolConnections[0]?.targetAccount).toEqual({ user: "deploy", database: "10.0.0.5:22" });
    expect(() => parseConfig(base({}), "/tmp", env)).toThrow(/host_key and known_hosts_file/);
    expect(() => parseConfig(base({ host_key: "garbage" }), "/tmp", env)).toThrow(/host_key/);
    expect(() =>
      parseConfig(base({ host_key: KEY, private_key_env: "K" }), "/tmp", { ...env, K: "k" }),
    ).toThrow(/exactly one of private_key_file/);
  });
});
