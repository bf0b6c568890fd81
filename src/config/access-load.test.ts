import { expect, test } from "bun:test";
import { parseConfig } from "./load.ts";

const conn = (extra: Record<string, unknown> = {}) => ({
  connections: [
    {
      name: "ledger",
      type: "postgres",
      target: { host: "db", database: "ledger", user: "app" },
      allow_groups: ["agents"],
      ...extra,
    },
  ],
});
const err = (input: unknown, env = {}) => {
  try {
    parseConfig(input, "/tmp", env);
  } catch (e) {
    return (e as Error).message;
  }
  return "no error";
};

test("access keys default to standing access, one approval, 4h grants and 5m reviews", () => {
  const c = parseConfig(conn(), "/tmp", {});
  expect(c.connections[0]!.access).toEqual({
    mode: "standing",
    approvers: [],
    minApprovals: 1,
    maxDurationMs: 4 * 3_600_000,
    reviewTimeoutMs: 5 * 60_000,
  });
  expect(c.approvals).toEqual({ webhook: null });
});

test("access: request with approvers, durations and min_approvals", () => {
  const c = parseConfig(
    conn({
      access: "request",
      approvers: ["sec"],
      min_approvals: 2,
      max_duration: "1h",
      review_timeout: "30s",
    }),
    "/tmp",
    {},
  );
  expect(c.connections[0]!.access).toMatchObject({
    mode: "request",
    minApprovals: 2,
    maxDurationMs: 3_600_000,
  });
});

test("bad access settings name their key", () => {
  expect(err(conn({ access: "request" }))).toBe(
    "config: connections[0].approvers: access: request needs at least one approver group",
  );
  expect(err(conn({ access: "sometimes" }))).toBe(
    'config: connections[0].access: expected one of "standing", "request"',
  );
  expect(err(conn({ min_approvals: 0 }))).toContain("connections[0].min_approvals");
  expect(err(conn({ review_timeout: "soon" }))).toContain("connections[0].review_timeout");
});

test("the webhook needs a signing secret from env or file and an https (or loopback) url", () => {
  const hook = (w: Record<string, unknown>) => ({ ...conn(), approvals: { webhook: w } });
  expect(err(hook({ url: "https://hooks.example/x" }))).toBe(
    "config: approvals.webhook: needs secret_env or secret_file (the HMAC signing key)",
  );
  expect(err(hook({ url: "http://hooks.example/x", secret_env: "S" }), { S: "k" })).toContain(
    "approvals.webhook.url: expected an https:// URL",
  );
  expect(err(hook({ url: "https://hooks.example/x", secret_env: "MISSING" }))).toBe(
    "config: approvals.webhook.secret_env: environment variable MISSING is not set",
  );
  expect(err(hook({ url: "https://hooks.example/x", secret: "inline" }))).toContain(
    "approvals.webhook.secret",
  );
  const c = parseConfig(hook({ url: "http://127.0.0.1:9/h", secret_env: "S" }), "/tmp", { S: "k" });
  expect(c.approvals.webhook?.url).toBe("http://127.0.0.1:9/h");
  expect(c.approvals.webhook?.secret.reveal()).toBe("k");
});
