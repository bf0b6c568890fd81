import { expect, test } from "bun:test";
import type { IncomingMessage } from "node:http";
import { CustosError } from "../../core/errors.ts";
import { buildCommand, route } from "./prepare.ts";

const req = (url: string, headers: Record<string, string> = { authorization: "Bearer t" }, method = "POST") =>
  ({ url, method, headers }) as unknown as IncomingMessage;

test("a Secret's values never reach the policy input or the recorded text; other objects are whole", () => {
  const routed = route(req("/c/prod/api/v1/namespaces/a/secrets"));
  if (routed instanceof CustosError) throw routed;
  const body = JSON.stringify({
    kind: "Secret",
    metadata: { name: "s" },
    stringData: { password: "pw-canary-1" },
  });
  const command = buildCommand(
    routed,
    "POST",
    { bytes: new TextEncoder().encode(body), type: "application/json" },
    {},
  );
  if (command instanceof CustosError) throw command;
  expect(JSON.stringify(command)).not.toContain("pw-canary-1");
  expect(command.text).toStartWith("create secrets -n a ");
  const cm = route(req("/c/prod/api/v1/namespaces/a/configmaps"));
  if (cm instanceof CustosError) throw cm;
  const c2 = buildCommand(
    cm,
    "POST",
    { bytes: new TextEncoder().encode('{"data":{"k":"v-9"}}'), type: "application/json" },
    {},
  );
  expect((c2 as unknown as { details: { object: unknown } }).details.object).toEqual({ data: { k: "v-9" } });
});

test("bodies the policy cannot read are refused: protobuf, CBOR, YAML that is not JSON", () => {
  const routed = route(req("/c/prod/api/v1/namespaces/a/configmaps"));
  if (routed instanceof CustosError) throw routed;
  for (const [type, text] of [
    ["application/vnd.kubernetes.protobuf", "k8s\u0000"],
    ["application/cbor", "\u00a1"],
    ["application/apply-patch+yaml", "kind: ConfigMap\n"],
  ] as const) {
    const c = buildCommand(routed, "PATCH", { bytes: new TextEncoder().encode(text), type }, {});
    expect(c).toBeInstanceOf(CustosError);
  }
});

test("routing: the connection prefix, canonical form and the caller's token", () => {
  expect(route(req("/api/v1/pods"))).toBeInstanceOf(CustosError);
  expect((route(req("/c/prod/api/v1/pods", {})) as CustosError).code).toBe("identity.missing");
  expect((route(req("/c/prod/api/v1/pods", { authorization: "Basic eA==" })) as CustosError).code).toBe(
    "identity.malformed",
  );
  expect((route(req("/c/prod/api/v1/namespaces/a/secrets%2Fx")) as CustosError).code).toBe(
    "protocol.malformed",
  );
  expect((route(req("/c/../api/v1/pods")) as CustosError).code).toBe("access.unknown_connection");
  const ok = route(req("/c/prod/api/v1/pods?watch=1&labelSelector=app%3Dweb", undefined, "GET"));
  expect(ok).toMatchObject({
    connection: "prod",
    path: "/api/v1/pods",
    search: "?watch=1&labelSelector=app%3Dweb",
  });
});
