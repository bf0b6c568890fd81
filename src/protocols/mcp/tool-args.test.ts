import { describe, expect, test } from "bun:test";
import { parseQueryArgs, parseRequestArgs } from "./tool-args.ts";
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
  ]);
  expect([...tools.keys()]).toEqual(["ledger__query", "crm__request"]);
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
