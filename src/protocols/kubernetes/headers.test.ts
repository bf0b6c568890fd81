import { describe, expect, test } from "bun:test";
import { CustosError } from "../../core/errors.ts";
import { bearerToken, jsonAccept, upstreamHeaders } from "./headers.ts";

const raw = (pairs: [string, string][]) => pairs.flat();

describe("upstreamHeaders", () => {
  test("the caller's token never goes upstream; the gateway's does, with the caller impersonated", () => {
    const h = upstreamHeaders(
      raw([
        ["Authorization", "Bearer agent-token"],
        ["User-Agent", "kubectl/v1.37.2"],
        ["X-Forwarded-For", "10.0.0.1"],
        ["Cookie", "a=b"],
      ]),
      { token: "gw" },
      { subject: "agent-7", groups: ["agents", "ci"] },
      { upgrade: false },
    );
    expect(h).not.toBeInstanceOf(CustosError);
    const pairs = h as [string, string][];
    expect(pairs.filter(([k]) => k === "authorization")).toEqual([["authorization", "Bearer gw"]]);
    expect(JSON.stringify(pairs)).not.toContain("agent-token");
    expect(pairs.filter(([k]) => k === "impersonate-group").map(([, v]) => v)).toEqual(["agents", "ci"]);
    expect(pairs).toContainEqual(["impersonate-user", "agent-7"]);
    expect(pairs.map(([k]) => k)).not.toContain("x-forwarded-for");
    expect(pairs.map(([k]) => k)).not.toContain("cookie");
  });
  test("a client's own impersonation headers are refused, whatever their case", () => {
    for (const name of [
      "Impersonate-User",
      "impersonate-group",
      "IMPERSONATE-UID",
      "Impersonate-Extra-scopes",
    ]) {
      const h = upstreamHeaders(raw([[name, "system:admin"]]), { token: "gw" }, null, { upgrade: false });
      expect(h).toBeInstanceOf(CustosError);
    }
  });
  test("hop-by-hop Connection/Upgrade only travel on an upgrade", () => {
    const pairs = raw([
      ["Connection", "Upgrade"],
      ["Upgrade", "websocket"],
      ["Sec-WebSocket-Key", "k"],
    ]);
    const plain = upstreamHeaders(pairs, { token: null }, null, { upgrade: false }) as [string, string][];
    expect(plain.map(([k]) => k)).not.toContain("upgrade");
    const up = upstreamHeaders(pairs, { token: null }, null, { upgrade: true }) as [string, string][];
    expect(up.map(([k]) => k)).toEqual(
      expect.arrayContaining(["upgrade", "connection", "sec-websocket-key"]),
    );
  });
  test("a line break in an identity is refused", () => {
    expect(() =>
      upstreamHeaders(
        [],
        { token: null },
        { subject: "a\r\nImpersonate-Group: x", groups: [] },
        { upgrade: false },
      ),
    ).toThrow();
  });
});

describe("jsonAccept", () => {
  test("protobuf, YAML, CBOR and application/* are dropped; JSON with its parameters stays", () => {
    expect(jsonAccept("application/vnd.kubernetes.protobuf,application/json")).toBe("application/json");
    expect(
      jsonAccept(
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
      ),
    ).toBe(
      "application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json",
    );
    expect(jsonAccept("application/yaml")).toBe("application/json");
    expect(jsonAccept("application/cbor, application/*")).toBe("application/json");
    expect(jsonAccept(null)).toBe("application/json");
    expect(jsonAccept("*/*")).toBe("*/*");
  });
});

test("bearerToken", () => {
  expect(bearerToken(undefined)).toBeNull();
  expect(bearerToken("Bearer abc")).toBe("abc");
  expect(bearerToken("Basic YWJj")).toBe("malformed");
  expect(bearerToken("Bearer a b")).toBe("malformed");
});
