// The API server's own resolver tables (apiserver pkg/endpoints/request/requestinfo_test.go, v1.37.2),
// ported case for case, plus the canonical-form refusals the gateway adds in front of it.
import { describe, expect, test } from "bun:test";
import { commandText, requestDetails } from "./command.ts";
import { canonicalRequest, exactMatch, resolveRequestInfo } from "./request-info.ts";

function resolve(method: string, url: string) {
  const q = url.indexOf("?");
  const canon = canonicalRequest(q === -1 ? url : url.slice(0, q), q === -1 ? "" : url.slice(q + 1));
  if (!canon.ok) throw new Error(canon.message);
  const r = resolveRequestInfo(method, canon.path, canon.query);
  if (!r.ok) throw new Error(r.message);
  return r.info;
}

// method, url, verb, apiPrefix, group, version, namespace, resource, subresource, name, parts
type Row = [string, string, string, string, string, string, string, string, string, string, string[]];
// biome-ignore format: one row per case reads as the Go table does
const SUCCESS: Row[] = [
  ["GET", "/api/v1/namespaces", "list", "api", "", "v1", "", "namespaces", "", "", ["namespaces"]],
  ["GET", "/api/v1/namespaces/other", "get", "api", "", "v1", "other", "namespaces", "", "other", ["namespaces", "other"]],
  ["GET", "/api/v1/namespaces/other/pods", "list", "api", "", "v1", "other", "pods", "", "", ["pods"]],
  ["GET", "/api/v1/namespaces/other/pods/foo", "get", "api", "", "v1", "other", "pods", "", "foo", ["pods", "foo"]],
  ["HEAD", "/api/v1/namespaces/other/pods/foo", "get", "api", "", "v1", "other", "pods", "", "foo", ["pods", "foo"]],
  ["GET", "/api/v1/pods", "list", "api", "", "v1", "", "pods", "", "", ["pods"]],
  ["HEAD", "/api/v1/pods", "list", "api", "", "v1", "", "pods", "", "", ["pods"]],
  ["GET", "/api/v1/proxy/namespaces/other/pods/foo", "proxy", "api", "", "v1", "other", "pods", "", "foo", ["pods", "foo"]],
  ["GET", "/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource", "proxy", "api", "", "v1", "other", "pods", "", "foo", ["pods", "foo", "subpath", "not", "a", "subresource"]],
  ["GET", "/api/v1/watch/pods", "watch", "api", "", "v1", "", "pods", "", "", ["pods"]],
  ["GET", "/api/v1/pods?watch=true", "watch", "api", "", "v1", "", "pods", "", "", ["pods"]],
  ["GET", "/api/v1/pods?watch=false", "list", "api", "", "v1", "", "pods", "", "", ["pods"]],
  ["GET", "/api/v1/watch/namespaces/other/pods", "watch", "api", "", "v1", "other", "pods", "", "", ["pods"]],
  ["GET", "/api/v1/namespaces/other/pods?watch=1", "watch", "api", "", "v1", "other", "pods", "", "", ["pods"]],
  ["GET", "/api/v1/namespaces/other/pods?watch=0", "list", "api", "", "v1", "other", "pods", "", "", ["pods"]],
  ["GET", "/api/v1/namespaces/other/pods/foo/status", "get", "api", "", "v1", "other", "pods", "status", "foo", ["pods", "foo", "status"]],
  ["GET", "/api/v1/namespaces/other/pods/foo/proxy/subpath", "get", "api", "", "v1", "other", "pods", "proxy", "foo", ["pods", "foo", "proxy", "subpath"]],
  ["PUT", "/api/v1/namespaces/other/finalize", "update", "api", "", "v1", "other", "namespaces", "finalize", "other", ["namespaces", "other", "finalize"]],
  ["PUT", "/api/v1/namespaces/other/status", "update", "api", "", "v1", "other", "namespaces", "status", "other", ["namespaces", "other", "status"]],
  ["PATCH", "/api/v1/namespaces/other/pods/foo", "patch", "api", "", "v1", "other", "pods", "", "foo", ["pods", "foo"]],
  ["DELETE", "/api/v1/namespaces/other/pods/foo", "delete", "api", "", "v1", "other", "pods", "", "foo", ["pods", "foo"]],
  ["POST", "/api/v1/namespaces/other/pods", "create", "api", "", "v1", "other", "pods", "", "", ["pods"]],
  ["DELETE", "/api/v1/nodes", "deletecollection", "api", "", "v1", "", "nodes", "", "", ["nodes"]],
  ["DELETE", "/api/v1/namespaces", "deletecollection", "api", "", "v1", "", "namespaces", "", "", ["namespaces"]],
  ["DELETE", "/api/v1/namespaces/other/pods", "deletecollection", "api", "", "v1", "other", "pods", "", "", ["pods"]],
  ["DELETE", "/apis/extensions/v1/namespaces/other/pods", "deletecollection", "apis", "extensions", "v1", "other", "pods", "", "", ["pods"]],
  ["POST", "/apis/extensions/v1/namespaces/other/pods", "create", "apis", "extensions", "v1", "other", "pods", "", "", ["pods"]],
  ["POST", "/apis/extensions/v1beta3/namespaces/other/pods", "create", "apis", "extensions", "v1beta3", "other", "pods", "", "", ["pods"]],
  // What kubectl sends for the streams and for scale: the subresource carries the meaning.
  ["POST", "/api/v1/namespaces/default/pods/web/exec?command=sh&command=-c&command=id&stdout=true", "create", "api", "", "v1", "default", "pods", "exec", "web", ["pods", "web", "exec"]],
  ["GET", "/api/v1/namespaces/default/pods/web/exec?command=id", "get", "api", "", "v1", "default", "pods", "exec", "web", ["pods", "web", "exec"]],
  ["POST", "/api/v1/namespaces/default/pods/web/portforward", "create", "api", "", "v1", "default", "pods", "portforward", "web", ["pods", "web", "portforward"]],
  ["GET", "/api/v1/namespaces/default/pods/web/log?follow=true", "get", "api", "", "v1", "default", "pods", "log", "web", ["pods", "web", "log"]],
  ["PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale", "patch", "apis", "apps", "v1", "default", "deployments", "scale", "web", ["deployments", "web", "scale"]],
  ["GET", "/api/v1/namespaces/default/secrets/", "list", "api", "", "v1", "default", "secrets", "", "", ["secrets"]],
];

describe("resolveRequestInfo: the API server's resource cases", () => {
  for (const [method, url, verb, prefix, group, version, ns, resource, sub, name, parts] of SUCCESS) {
    test(`${method} ${url}`, () => {
      const info = resolve(method, url);
      expect(info.isResourceRequest).toBe(true);
      expect({
        verb: info.verb,
        prefix: info.apiPrefix,
        group: info.apiGroup,
        version: info.apiVersion,
      }).toEqual({
        verb,
        prefix,
        group,
        version,
      });
      expect({ ns: info.namespace, resource: info.resource, sub: info.subresource, name: info.name }).toEqual(
        {
          ns,
          resource,
          sub,
          name,
        },
      );
      expect(info.parts).toEqual(parts);
    });
  }
});

describe("resolveRequestInfo: non-resource paths", () => {
  const cases: [string, boolean][] = [
    ["/api/version/resource", true],
    ["/apis/group/version/resource/name/subresource", true],
    ["/api/version/resource/name/subresource", true],
    ["/apis/batch/v1/job", true],
    ["/apis/batch/v1/job/foo", true],
    ["/apis/batch/v1/job/foo/scale", true],
    ["/not-api/version/resource", false],
    ["/apis/extensions/v1beta1", false],
    ["/apis/extensions/v1beta1/", false],
    ["/api/version", false],
    ["/api", false],
    ["/", false],
    ["/api/version/", false],
    ["/apis/group/version/", false],
    ["/badprefix/version/resource", false],
    ["/apis/version/resource", false],
    ["/version", false],
    ["/openapi/v3/apis/apps/v1", false],
  ];
  for (const [url, resource] of cases)
    test(url, () => {
      const info = resolve("GET", url);
      expect(info.isResourceRequest).toBe(resource);
      if (!resource) expect(info.verb).toBe("get");
    });
  test("a special verb without a resource is an error, as the API server reports it", () => {
    const r = resolveRequestInfo("GET", "/api/v1/watch", new Map());
    expect(r.ok).toBe(false);
  });
  test("an unknown method on a resource has no verb", () => {
    expect(resolve("OPTIONS", "/api/v1/pods").verb).toBe("");
  });
});

describe("resolveRequestInfo: selectors", () => {
  // name, method, url, expected name, verb, fieldSelector, labelSelector
  // biome-ignore format: one row per case
  const cases: [string, string, string, string, string, string, string][] = [
    ["no selector", "GET", "/apis/group/version/resource", "", "list", "", ""],
    ["metadata.name selector", "GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1", "name1", "list", "metadata.name=name1", ""],
    ["metadata.name selector with watch", "GET", "/apis/group/version/resource?watch=true&fieldSelector=metadata.name=name1", "name1", "watch", "metadata.name=name1", ""],
    ["random selector", "GET", "/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux", "", "list", "foo=bar", "baz=qux"],
    ["invalid selector with metadata.name", "GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo", "", "list", "metadata.name=name1,foo", ""],
    ["invalid selector with watch", "GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=true", "", "watch", "metadata.name=name1,foo", ""],
    ["invalid selector with watch false", "GET", "/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=false", "", "list", "metadata.name=name1,foo", ""],
    ["deletecollection", "DELETE", "/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux", "", "deletecollection", "foo=bar", "baz=qux"],
    ["repeated params: the first", "GET", "/apis/group/version/resource?fieldSelector=metadata.name=foo&fieldSelector=metadata.name=bar&labelSelector=foo=bar&labelSelector=foo=baz", "foo", "list", "metadata.name=foo", "foo=bar"],
    ["other verb ignores selectors", "GET", "/apis/group/version/resource/name?fieldSelector=foo=bar&labelSelector=foo=bar", "name", "get", "", ""],
    ["deprecated root watch", "GET", "/apis/group/version/watch/resource?fieldSelector=metadata.name=foo&labelSelector=foo=bar", "", "watch", "", ""],
    ["deprecated root item watch", "GET", "/apis/group/version/watch/resource/name?fieldSelector=metadata.name=foo&labelSelector=foo=bar", "name", "watch", "", ""],
    // Go decodes the query before the resolver reads it; so do we.
    ["escaped selector", "GET", "/api/v1/secrets?fieldSelector=metadata.name%3Ddb-pass", "db-pass", "list", "metadata.name=db-pass", ""],
    ["watch= (empty) is true", "GET", "/api/v1/pods?watch=", "", "watch", "", ""],
    ["watch=FALSE is false", "GET", "/api/v1/pods?watch=FALSE", "", "list", "", ""],
    ["a name that is not a path segment is not a name", "GET", "/api/v1/secrets?fieldSelector=metadata.name%3D..", "", "list", "metadata.name=..", ""],
  ];
  for (const [label, method, url, name, verb, field, labels] of cases)
    test(label, () => {
      const info = resolve(method, url);
      expect({
        name: info.name,
        verb: info.verb,
        field: info.fieldSelector,
        labels: info.labelSelector,
      }).toEqual({
        name,
        verb,
        field,
        labels,
      });
    });
  test("exactMatch follows fields.ParseSelector: sorted terms, escapes, != never pins", () => {
    expect(exactMatch("metadata.name==a", "metadata.name")).toBe("a");
    expect(exactMatch("metadata.name!=a", "metadata.name")).toBeNull();
    expect(exactMatch("metadata.name=a\\,b", "metadata.name")).toBe("a,b");
    expect(exactMatch("metadata.name=a\\x", "metadata.name")).toBeNull();
    expect(exactMatch("metadata.name=b,metadata.name=a", "metadata.name")).toBe("a");
    expect(exactMatch("", "metadata.name")).toBeNull();
  });
});

describe("canonicalRequest: forms the two sides could read differently are refused", () => {
  const refused: [string, string][] = [
    ["/api/v1/namespaces/default/secrets%2Fdb", ""],
    ["/api/v1/namespaces/default/%73ecrets", ""],
    ["/api/v1/namespaces/default/pods/../secrets", ""],
    ["/api/v1/namespaces/default/./secrets", ""],
    ["/api/v1//namespaces/default/secrets", ""],
    ["/api/v1/namespaces/default/pods;x=y", ""],
    ["/api/v1/pods/\u00e9", ""],
    ["api/v1/pods", ""],
    ["/api/v1/pods", "watch=true;watch=false"],
    ["/api/v1/pods", "fieldSelector=%zz"],
    ["/api/v1/pods", "labelSelector=%ff"],
  ];
  for (const [path, query] of refused)
    test(`${path}?${query}`, () => expect(canonicalRequest(path, query).ok).toBe(false));
  test("look-alikes pass: colons in proxy names, plus signs, a trailing slash, escapes in the query", () => {
    for (const [path, query] of [
      ["/api/v1/namespaces/default/pods/web:8080/proxy/", ""],
      ["/api/v1/namespaces/default/configmaps/a+b", ""],
      ["/api/v1/pods/", "labelSelector=app%20in%20(a,b)&limit=500"],
    ] as const)
      expect(canonicalRequest(path, query).ok).toBe(true);
    const c = canonicalRequest("/api/v1/pods", "labelSelector=a+b&x");
    expect(c.ok && [...c.query]).toEqual([
      ["labelSelector", ["a b"]],
      ["x", [""]],
    ]);
  });
});

describe("commandText", () => {
  const text = (method: string, url: string) => {
    const q = url.indexOf("?");
    const c = canonicalRequest(q === -1 ? url : url.slice(0, q), q === -1 ? "" : url.slice(q + 1));
    if (!c.ok) throw new Error(c.message);
    const r = resolveRequestInfo(method, c.path, c.query);
    if (!r.ok) throw new Error(r.message);
    return commandText(requestDetails(method, r.info, c.query));
  };
  test("reads like kubectl, and names what a stream runs", () => {
    expect(text("GET", "/api/v1/namespaces/a/pods")).toBe("list pods -n a");
    expect(text("PATCH", "/apis/apps/v1/namespaces/a/deployments/web/scale")).toBe(
      "patch deployments.apps/web/scale -n a",
    );
    expect(
      text(
        "GET",
        "/api/v1/namespaces/a/pods/p/exec?command=sh&command=-c&command=rm%20-rf%20x&container=main",
      ),
    ).toBe('get pods/p/exec -n a -c main -- ["sh","-c","rm -rf x"]');
    expect(text("POST", "/api/v1/namespaces/a/pods/p/portforward?ports=80&ports=443")).toBe(
      "create pods/p/portforward -n a ports=80,443",
    );
    expect(text("GET", "/version")).toBe("GET /version");
  });
});
