import { describe, expect, test } from "bun:test";
import { parseAwsArgs, parseExecArgs, parseQueryArgs, parseRequestArgs } from "./tool-args.ts";
import { toolsFor } from "./tools.ts";
import { withoutSecrets } from "./transcript.ts";

describe("query arguments", () => {
  test("one statement with bound values; defaults applied", () => {
    expect(parseQueryArgs({ sql: "select $1", params: [1, "a", null, true] })).toEqual({
      ok: true,
      args: { sql: "select $1", params: [1, "a", null, true], maxRows: 200 },
    });
  });
  test.each([
    [{ sql: "" }, '"sql" must be a non-empty string'],
    [{ sql: "select 1", other: 1 }, 'unknown argument "other"'],
    [{ sql: "select 1", params: [{}] }, '"params[0]"'],
    [{ sql: "select 1", params: [Number.NaN] }, '"params[0]"'],
    [{ sql: "select 1", max_rows: 0 }, '"max_rows"'],
    [{ sql: "select 1", max_rows: 1.5 }, '"max_rows"'],
    [{ sql: "select '\u0000'" }, "NUL"],
    [[1], "arguments must be an object"],
  ])("%j is refused", (args, message) => {
    const r = parseQueryArgs(args);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(message);
  });
});

describe("request arguments", () => {
  test("method, path, repeated query names and a JSON body", () => {
    expect(
      parseRequestArgs({ method: "POST", path: "/v1/x", query: { a: ["1", "2"], b: "3" }, body: { k: 1 } }),
    ).toEqual({
      ok: true,
      args: {
        method: "POST",
        path: "/v1/x",
        query: [
          ["a", "1"],
          ["a", "2"],
          ["b", "3"],
        ],
        body: '{"k":1}',
      },
    });
  });
  test.each([
    [{ path: "v1" }],
    [{ path: "//host/x" }],
    [{ path: "/a?b=1" }],
    [{ path: "/a#f" }],
    [{ path: "/a b" }],
    [{ path: "/a\\b" }],
    [{ path: "/a\u0001" }],
    [{ path: "/a", method: "TRACE" }],
    [{ path: "/a", method: "get" }],
    [{ path: "/a", body: {} }],
    [{ path: "/a", query: { a: 1 } }],
    [{ path: "/a", headers: {} }],
  ])("%j is refused", (args) => {
    expect(parseRequestArgs(args).ok).toBe(false);
  });
});

test("tools: one per connection of a known type, named <conn>__<verb>", () => {
  const tools = toolsFor([
    { name: "ledger", type: "postgres", labels: [] },
    { name: "crm", type: "http", labels: [] },
    { name: "box", type: "ssh", labels: [] },
    { name: "bucket", type: "aws", labels: [] },
    { name: "shop", type: "mysql", labels: [] },
    { name: "files", type: "mcp", labels: [] },
  ]);
  // mysql is not offered yet; mcp connections offer their own upstream tools (upstream-session.ts).
  expect([...tools.keys()]).toEqual(["ledger__query", "crm__request", "box__exec", "bucket__call"]);
});

test("the transcript drops secret-named fields at any depth, keeps the rest", () => {
  expect(
    withoutSecrets({
      path: "/x",
      body: { user: "a", password: "p", nested: [{ api_key: "k", ok: 1 }], Authorization: "b" },
    }),
  ).toEqual({
    path: "/x",
    body: {
      user: "a",
      password: "[redacted]",
      nested: [{ api_key: "[redacted]", ok: 1 }],
      Authorization: "[redacted]",
    },
  });
});

describe("exec and AWS call arguments", () => {
  test("exec: a command and optional stdin; nothing else", () => {
    expect(parseExecArgs({ command: "ls -l", stdin: "x" })).toEqual({
      ok: true,
      args: { command: "ls -l", stdin: "x" },
    });
    for (const bad of [
      {},
      { command: "" },
      { command: " " },
      { command: "a\u0000b" },
      { command: "id", pty: true },
      { command: 1 },
      { command: "id", stdin: 2 },
      [1],
    ])
      expect(parseExecArgs(bad).ok).toBe(false);
  });

  test("AWS: service, path and query checked; only content-type and x-amz-target as headers", () => {
    const ok = parseAwsArgs({
      service: "dynamodb",
      method: "POST",
      path: "/",
      headers: { "X-Amz-Target": "DynamoDB_20120810.GetItem" },
      body: "{}",
    });
    expect(ok).toEqual({
      ok: true,
      args: {
        service: "dynamodb",
        region: "us-east-1",
        method: "POST",
        path: "/",
        query: [],
        headers: { "x-amz-target": "DynamoDB_20120810.GetItem" },
        body: "{}",
      },
    });
    expect(parseAwsArgs({ service: "s3", path: "/b/a%20b.txt", query: { prefix: ["x", "y"] } }).ok).toBe(
      true,
    );
    for (const bad of [
      { service: "s3", path: "/b/a b" },
      { service: "s3", path: "/b/x?acl" },
      { service: "s3", path: "/b/%zz" },
      { service: "s3", path: "b" },
      { service: "s3", headers: { host: "evil" } },
      { service: "s3", headers: { "x-amz-date": "20200101T000000Z" } },
      { service: "s3", headers: { "content-type": "a\nb" } },
      { service: "s3", method: "TRACE" },
      { service: "s3", body: {} },
      { service: "../s3" },
      { service: "s3", credentials: {} },
    ])
      expect(parseAwsArgs(bad).ok).toBe(false);
  });
});
