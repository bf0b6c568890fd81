import { describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { CustosError } from "../core/errors.ts";
import { loadConfig, parseConfig } from "./load.ts";

const EXAMPLE = `
listen:
  postgres: 127.0.0.1:15432
  http: 127.0.0.1:8080            # /healthz, /metrics
data_dir: ./data
identity:
  issuers:
    - issuer: https://login.example.com
      audience: custos
      groups_claim: groups
connections:
  - name: ledger
    type: postgres
    target: {host: db.internal, port: 5432, database: ledger, user: app, password_env: LEDGER_DB_PASSWORD, tls: prefer}
    allow_groups: [agents]
    idle_timeout: 15m
    max_session: 8h
audit:
  store: sqlite:./data/audit.db
`;

const ENV = { LEDGER_DB_PASSWORD: "s3cr3t-ledger-pw" };

function dir(): string {
  return mkdtempSync(join(tmpdir(), "custos-config-"));
}

function writeConfig(text: string): string {
  const d = dir();
  const path = join(d, "custos.yaml");
  writeFileSync(path, text);
  return path;
}

function errorOf(fn: () => unknown): CustosError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CustosError);
    expect((err as CustosError).code).toBe("config.invalid");
    expect((err as CustosError).message).not.toContain("\n");
    return err as CustosError;
  }
  throw new Error("expected a config error");
}

const base = {
  connections: [
    {
      name: "ledger",
      type: "postgres",
      target: { host: "db", database: "ledger", user: "app" },
      allow_groups: ["agents"],
    },
  ],
};

function withConn(patch: Record<string, unknown>, target: Record<string, unknown> = {}) {
  const conn = base.connections[0]!;
  return { connections: [{ ...conn, ...patch, target: { ...conn.target, ...target } }] };
}

describe("loadConfig", () => {
  test("the example from the issue loads, resolved and typed", () => {
    const path = writeConfig(EXAMPLE);
    const d = join(path, "..");
    const cfg = loadConfig(path, ENV);
    expect(cfg.source).toBe(path);
    expect(cfg.configHash).toBe(new Bun.CryptoHasher("sha256").update(EXAMPLE).digest("hex"));
    expect(cfg.listen).toEqual({
      postgres: { host: "127.0.0.1", port: 15432 },
      http: { host: "127.0.0.1", port: 8080 },
      publicUrl: null,
      protocols: { mysql: { host: "127.0.0.1", port: 13306 } },
    });
    expect(cfg.dataDir).toBe(join(d, "data"));
    expect(cfg.identity).toEqual({
      issuers: [{ issuer: "https://login.example.com", audience: "custos", groupsClaim: "groups" }],
      agentGroups: [],
      maxTokenLifetimeMs: 86_400_000,
      gatewayTokens: { maxTtlMs: 86_400_000 },
    });
    const conn = cfg.connections[0]!;
    expect(conn.name).toBe("ledger");
    expect(conn.target.host).toBe("db.internal");
    expect(conn.target.port).toBe(5432);
    expect(conn.target.tls).toBe("prefer");
    expect(conn.target.password?.reveal()).toBe("s3cr3t-ledger-pw");
    expect(conn.idleTimeoutMs).toBe(15 * 60_000);
    expect(conn.maxSessionMs).toBe(8 * 3_600_000);
    expect(conn.labels).toEqual([]);
    expect(conn.tableLabels).toEqual({});
    expect(cfg.audit).toEqual({
      store: { kind: "embedded", path: join(d, "data", "audit.db") },
      sync: "writes",
      anchors: [],
      retention: { eventsMs: null, recordingsMs: null },
      maxSizeBytes: null,
      pruneIntervalMs: 3_600_000,
    });
    expect(cfg.tls).toBeNull();
    expect(cfg.log.level).toBe("info");
  });

  test("an empty file gets every default", () => {
    const path = writeConfig("");
    const cfg = loadConfig(path, {});
    expect(cfg.listen.postgres).toEqual({ host: "127.0.0.1", port: 15432 });
    expect(cfg.dataDir).toBe(join(path, "..", "data"));
    expect(cfg.audit.store).toEqual({ kind: "embedded", path: join(path, "..", "data", "audit.db") });
    expect(cfg.connections).toEqual([]);
  });

  test("the optional keys resolve: files relative to the config, labels, sync, tls, agent groups", () => {
    const path = writeConfig(`
data_dir: /var/lib/custos
listen: {postgres: "[::1]:6432", http: "0.0.0.0:0"}
identity:
  issuers: [{issuer: "http://127.0.0.1:9999", audience: custos}]
  agent_groups: [agents]
  gateway_tokens: {max_ttl: 1h30m}
connections:
  - name: ledger
    type: postgres
    target: {host: db, database: ledger, user: app, password_file: secrets/pw, tls: verify-full, ca_file: ca.pem}
    allow_groups: [agents, dba]
    labels: [prod]
    table_labels: {"public.accounts": [regulated]}
    idle_timeout: 500ms
    max_session: 2d
audit: {store_env: AUDIT_URL, sync: all}
tls: {cert_file: tls/cert.pem, key_file: /etc/custos/key.pem}
log: {level: debug}
`);
    const d = join(path, "..");
    Bun.spawnSync(["mkdir", "-p", join(d, "secrets")]);
    writeFileSync(join(d, "secrets", "pw"), "file-pw\n");
    writeFileSync(join(d, "ca.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const cfg = loadConfig(path, { AUDIT_URL: "postgres://audit:pw@127.0.0.1:5432/audit" });
    expect(cfg.dataDir).toBe("/var/lib/custos");
    expect(cfg.listen).toEqual({
      postgres: { host: "::1", port: 6432 },
      http: { host: "0.0.0.0", port: 0 },
      publicUrl: null,
      protocols: { mysql: { host: "127.0.0.1", port: 13306 } },
    });
    expect(cfg.identity.issuers[0]!.groupsClaim).toBe("groups");
    expect(cfg.identity.agentGroups).toEqual(["agents"]);
    expect(cfg.identity.gatewayTokens.maxTtlMs).toBe(5_400_000);
    const conn = cfg.connections[0]!;
    expect(conn.target.password?.reveal()).toBe("file-pw");
    expect(conn.target.caFile).toBe(join(d, "ca.pem"));
    expect(conn.target.ca).toContain("BEGIN CERTIFICATE");
    expect(conn.labels).toEqual(["prod"]);
    expect(conn.tableLabels).toEqual({ "public.accounts": ["regulated"] });
    expect(conn.idleTimeoutMs).toBe(500);
    expect(conn.maxSessionMs).toBe(2 * 86_400_000);
    expect(cfg.audit.sync).toBe("all");
    expect(cfg.audit.store.kind).toBe("postgres");
    if (cfg.audit.store.kind === "postgres") {
      expect(cfg.audit.store.url.reveal()).toBe("postgres://audit:pw@127.0.0.1:5432/audit");
    }
    expect(cfg.tls).toEqual({ certFile: join(d, "tls", "cert.pem"), keyFile: "/etc/custos/key.pem" });
    expect(cfg.log.level).toBe("debug");
  });

  test("secrets never appear in JSON.stringify, inspect, Bun.inspect or String()", () => {
    const path = writeConfig(`${EXAMPLE.replace("store: sqlite:./data/audit.db", "store_env: AUDIT_URL")}`);
    const cfg = loadConfig(path, { ...ENV, AUDIT_URL: "postgres://audit:audit-pw-xyz@127.0.0.1/a" });
    for (const text of [
      JSON.stringify(cfg),
      inspect(cfg, { depth: 10 }),
      Bun.inspect(cfg, { depth: 10 }),
      String(cfg.connections[0]!.target.password),
      `${cfg.connections[0]!.target.password}`,
    ]) {
      expect(text).not.toContain("s3cr3t-ledger-pw");
      expect(text).not.toContain("audit-pw-xyz");
    }
    expect(JSON.stringify(cfg)).toContain("[redacted]");
  });

  test("an unreadable file and invalid YAML are one-line errors naming the file", () => {
    const missing = join(dir(), "nope.yaml");
    expect(errorOf(() => loadConfig(missing)).message).toBe(
      `${missing}: cannot read the config file (ENOENT)`,
    );
    const bad = writeConfig("listen:\n  postgres: [\n");
    expect(errorOf(() => loadConfig(bad)).message).toStartWith(`${bad}: line `);
    const dup = writeConfig("data_dir: a\ndata_dir: b\n");
    expect(errorOf(() => loadConfig(dup)).message).toContain("Map keys must be unique");
  });

  test("listen.public_url is kept without trailing slashes, path prefix and port included", () => {
    for (const [given, kept] of [
      ["https://custos.bank.example", "https://custos.bank.example"],
      ["https://custos.bank.example/", "https://custos.bank.example"],
      ["HTTPS://Custos.Bank.Example:8443/gateway//", "https://custos.bank.example:8443/gateway"],
      ["http://10.20.0.7:8080/", "http://10.20.0.7:8080"],
      ["http://[fd00::7]:8080", "http://[fd00::7]:8080"],
    ] as const) {
      const path = writeConfig(`listen:\n  http: 0.0.0.0:8080\n  public_url: "${given}"\n`);
      expect(loadConfig(path, {}).listen.publicUrl).toBe(kept);
    }
  });

  test("errors name the file and the key path", () => {
    const path = writeConfig("listen:\n  postgress: 127.0.0.1:1\n");
    expect(errorOf(() => loadConfig(path)).message).toBe(`${path}: listen.postgress: unknown key`);
  });
});

describe("parseConfig errors name the key path", () => {
  const cases: [string, unknown, string][] = [
    ["unknown top-level key", { ...base, lisen: {} }, "config: lisen: unknown key"],
    [
      "unknown nested key",
      withConn({}, { passwd_env: "X" }),
      "config: connections[0].target.passwd_env: unknown key",
    ],
    [
      "inline password",
      withConn({}, { password: "hunter2" }),
      "config: connections[0].target.password: unknown key; secrets come from password_env or password_file",
    ],
    [
      "wrong type",
      withConn({}, { port: "5432" }),
      "config: connections[0].target.port: expected number, got string",
    ],
    ["missing key", withConn({}, { host: undefined }), "config: connections[0].target.host: is required"],
    [
      "bad enum",
      withConn({}, { tls: "on" }),
      'config: connections[0].target.tls: expected one of "disable", "prefer", "require", "verify-full"',
    ],
    [
      "bad duration",
      withConn({ idle_timeout: "15 minutes" }),
      'config: connections[0].idle_timeout: expected a duration like 500ms, 30s, 15m, 8h, got "15 minutes"',
    ],
    [
      "zero duration",
      withConn({ max_session: "0s" }),
      'config: connections[0].max_session: expected a duration like 500ms, 30s, 15m, 8h, got "0s"',
    ],
    [
      "bad listen address",
      { listen: { postgres: "localhost" } },
      'config: listen.postgres: expected host:port (IPv6 as [addr]:port), got "localhost"',
    ],
    [
      "listen port out of range",
      { listen: { http: "127.0.0.1:70000" } },
      'config: listen.http: port must be 0-65535, got "70000"',
    ],
    [
      "public_url not a URL",
      { listen: { public_url: "custos.bank.example" } },
      'config: listen.public_url: expected an absolute http:// or https:// URL, got "custos.bank.example"',
    ],
    [
      "public_url with another scheme",
      { listen: { public_url: "ftp://custos.bank.example" } },
      'config: listen.public_url: expected an absolute http:// or https:// URL, got "ftp://custos.bank.example"',
    ],
    [
      "public_url without a host",
      { listen: { public_url: "https:custos.bank.example" } },
      'config: listen.public_url: expected an absolute http:// or https:// URL, got "https:custos.bank.example"',
    ],
    [
      "public_url with a query",
      { listen: { public_url: "https://custos.bank.example/?team=dba" } },
      'config: listen.public_url: must not have a query or fragment, got "https://custos.bank.example/?team=dba"',
    ],
    [
      "public_url with an empty fragment",
      { listen: { public_url: "https://custos.bank.example/#" } },
      'config: listen.public_url: must not have a query or fragment, got "https://custos.bank.example/#"',
    ],
    [
      "public_url with credentials (not echoed)",
      { listen: { public_url: "https://admin:hunter2@custos.bank.example" } },
      "config: listen.public_url: must not hold credentials",
    ],
    [
      "public_url not a string",
      { listen: { public_url: 443 } },
      "config: listen.public_url: expected string, got number",
    ],
    [
      "plain http issuer off loopback",
      { identity: { issuers: [{ issuer: "http://idp.example.com", audience: "custos" }] } },
      "config: identity.issuers[0].issuer: expected an https:// URL without query (http:// only on loopback)",
    ],
    [
      "duplicate issuer",
      {
        identity: {
          issuers: [
            { issuer: "https://a.example", audience: "x" },
            { issuer: "https://a.example", audience: "y" },
          ],
        },
      },
      'config: identity.issuers[1].issuer: duplicate issuer "https://a.example"',
    ],
    [
      "duplicate connection names",
      { connections: [base.connections[0], base.connections[0]] },
      'config: connections[1].name: duplicate connection name "ledger" (also connections[0])',
    ],
    [
      "bad connection name",
      withConn({ name: "led ger" }),
      "config: connections[0].name: expected 1-63 of A-Z a-z 0-9 _ . -",
    ],
    [
      "unknown type",
      withConn({ type: "oracle" }),
      "config: connections[0].type: Invalid discriminator value. Expected 'postgres' | 'http' | 'mysql'",
    ],
    [
      "no allowed groups",
      withConn({ allow_groups: [] }),
      "config: connections[0].allow_groups: name at least one group",
    ],
    [
      "bad table label key",
      withConn({ table_labels: { accounts: ["regulated"] } }),
      "config: connections[0].table_labels.accounts: expected schema.table",
    ],
    [
      "both password sources",
      withConn({}, { password_env: "A", password_file: "/x" }),
      "config: connections[0].target.password_file: use either password_env or password_file, not both",
    ],
    [
      "missing env var",
      withConn({}, { password_env: "LEDGER_DB_PASSWORD" }),
      "config: connections[0].target.password_env: environment variable LEDGER_DB_PASSWORD is not set",
    ],
    [
      "bad env var name",
      withConn({}, { password_env: "ledger pw" }),
      "config: connections[0].target.password_env: expected an environment variable name",
    ],
    [
      "ca_file with tls disable",
      withConn({}, { tls: "disable", ca_file: "/x" }),
      "config: connections[0].target.ca_file: ca_file needs tls prefer, require or verify-full",
    ],
    [
      "two audit store sources",
      { audit: { store: "sqlite:a", store_env: "X" } },
      "config: audit.store_env: use only one of store, store_env",
    ],
    [
      "bad audit store",
      { audit: { store: "mysql://x" } },
      "config: audit.store: expected sqlite:<path> or postgres://user:pass@host:port/db",
    ],
    [
      "bad audit sync",
      { audit: { sync: "sometimes" } },
      'config: audit.sync: expected one of "writes", "all", "none"',
    ],
    ["top level not a mapping", [1, 2], "config: (top level): expected object, got array"],
  ];
  for (const [name, input, message] of cases) {
    test(name, () => {
      expect(errorOf(() => parseConfig(input, "/tmp", {})).message).toBe(message);
    });
  }

  test("empty env var and unreadable or empty secret files", () => {
    expect(errorOf(() => parseConfig(withConn({}, { password_env: "PW" }), "/tmp", { PW: "" })).message).toBe(
      "config: connections[0].target.password_env: environment variable PW is empty",
    );
    const d = dir();
    expect(errorOf(() => parseConfig(withConn({}, { password_file: "missing" }), d, {})).message).toBe(
      `config: connections[0].target.password_file: cannot read ${join(d, "missing")} (ENOENT)`,
    );
    writeFileSync(join(d, "empty"), "\n");
    expect(errorOf(() => parseConfig(withConn({}, { password_file: "empty" }), d, {})).message).toBe(
      `config: connections[0].target.password_file: ${join(d, "empty")} is empty`,
    );
    if (process.getuid?.() !== 0) {
      writeFileSync(join(d, "locked"), "pw");
      chmodSync(join(d, "locked"), 0o000);
      expect(errorOf(() => parseConfig(withConn({}, { password_file: "locked" }), d, {})).message).toContain(
        "EACCES",
      );
    }
    writeFileSync(join(d, "ca.pem"), "not a cert");
    expect(errorOf(() => parseConfig(withConn({}, { ca_file: "ca.pem" }), d, {})).message).toBe(
      `config: connections[0].target.ca_file: ${join(d, "ca.pem")} holds no PEM certificate`,
    );
  });

  test("a store URL error never echoes the URL (it may hold a password)", () => {
    const err = errorOf(() =>
      parseConfig({ audit: { store_env: "AUDIT" } }, "/tmp", { AUDIT: "postgres://u:topsecret@[bad/db" }),
    );
    expect(err.message).toBe("config: audit.store_env: the postgres:// URL does not parse");
    expect(JSON.stringify(err.detail)).not.toContain("topsecret");
  });

  test("trust targets need no password, and the hash is stable for the same input", () => {
    const a = parseConfig(base, "/tmp", {});
    expect(a.connections[0]!.target.password).toBeNull();
    expect(a.configHash).toBe(parseConfig(base, "/tmp", {}).configHash);
    expect(a.configHash).not.toBe(parseConfig(withConn({ labels: ["x"] }), "/tmp", {}).configHash);
  });
});
