import { describe, expect, test } from "bun:test";
import { canonicalPath } from "./canonical.ts";

const ok = (rest: string) => {
  const r = canonicalPath(rest);
  if (!r.ok) throw new Error(`${rest}: ${r.reason}`);
  return r.path;
};

describe("canonicalPath", () => {
  test.each([
    ["", "/"],
    ["/", "/"],
    ["//admin", "/admin"],
    ["/admin;jsessionid=1", "/admin"],
    ["/admin;jsessionid=1/users", "/admin/users"],
    ["/%61dmin", "/admin"],
    ["/%41DMIN", "/ADMIN"],
    ["/./admin", "/admin"],
    ["/x/../admin", "/admin"],
    ["/x/..;/admin", "/admin"],
    ["/x/.;y/admin", "/x/admin"],
    ["/../../admin", "/admin"],
    ["/a%20b", "/a%20b"],
    ["/a%2bb", "/a%2Bb"],
    ["/caf%c3%a9", "/caf%C3%A9"],
    ["/a/b/", "/a/b/"],
    ["/a//b//", "/a/b/"],
    ["/100%25", "/100%25"],
  ])("%p → %p", (rest, want) => {
    expect(ok(rest)).toBe(want);
  });

  test.each([
    ["/admin%2fusers", "%2F"],
    ["/%2e%2e/admin", "%2E"],
    ["/..%2fadmin", "%2F"],
    ["/%5cadmin", "%5C"],
    ["/admin%3b", "%3B"],
    ["/a%00", "%00"],
    ["/a%0d%0aX-Injected:1", "control"],
    ["/%252e%252e/admin", "double-encoded"],
    ["/%c0%ae%c0%ae/admin", "UTF-8"],
    ["/%e0%80%ae", "UTF-8"],
    ["/%ed%a0%80", "UTF-8"],
    ["/%c3", "UTF-8"],
    ["/%zz", "malformed"],
    ["/a\\b", "backslash"],
  ])("refuses %p", (rest, why) => {
    const r = canonicalPath(rest);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(why);
  });
});
