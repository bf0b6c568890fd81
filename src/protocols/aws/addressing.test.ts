// Pure pieces of the three ways in (mount, virtual host, path) and of presigned-query parsing.
import { describe, expect, test } from "bun:test";
import { addressOf, mountedConnection, virtualHostBucket } from "./addressing.ts";
import { parsePresigned, withoutPresign } from "./presigned.ts";

const names = new Set(["aws-prod", "aws.dev"]);
const bases = new Map([["s3.custos.test", "aws-prod"]]);

describe("addressing", () => {
  test("a mount names only a configured connection, by its exact path segment", () => {
    expect(mountedConnection("/aws/aws-prod/bucket/key", names)).toBe("aws-prod");
    expect(mountedConnection("/aws/aws-prod", names)).toBe("aws-prod");
    expect(mountedConnection("/aws/aws-prodx/bucket", names)).toBeNull();
    expect(mountedConnection("/aws/aws.dev/", names)).toBe("aws.dev");
    expect(mountedConnection("/awsx/aws-prod/", names)).toBeNull();
    expect(mountedConnection("/c/aws-prod/", names)).toBeNull();
  });

  test("the signed path keeps the mount prefix; the operation path drops it", () => {
    const a = addressOf("http://gw:8080/aws/aws-prod/b/k%20x?acl", "gw:8080", "aws-prod", bases);
    expect(a.signedPath).toBe("/aws/aws-prod/b/k%20x");
    expect(a.opPath).toBe("/b/k%20x");
    expect(a.rawQuery).toBe("acl");
    expect(a.clientOrigin).toBe("http://gw:8080/aws/aws-prod");
    expect(addressOf("http://gw:8080/aws/aws-prod", "gw:8080", "aws-prod", bases).opPath).toBe("/");
  });

  test("a virtual host names a DNS-compatible bucket under a configured base only", () => {
    expect(virtualHostBucket("reports.s3.custos.test:4566", bases)).toEqual({
      bucket: "reports",
      connection: "aws-prod",
    });
    expect(virtualHostBucket("s3.custos.test", bases)).toBeNull();
    expect(virtualHostBucket("reports.s3.custos.test.evil.example", bases)).toBeNull();
    expect(virtualHostBucket("a..b.s3.custos.test", bases)).toBeNull();
    expect(virtualHostBucket("UPPER.s3.custos.test", bases)?.bucket).toBe("upper");
    const v = addressOf("http://x/dir/k", "reports.s3.custos.test:4566", null, bases);
    expect(v.opPath).toBe("/reports/dir/k");
    expect(v.signedPath).toBe("/dir/k");
    // On a mount the Host header is never read for a bucket.
    expect(
      addressOf("http://x/aws/aws-prod/b/k", "reports.s3.custos.test", "aws-prod", bases).virtual,
    ).toBeNull();
  });
});

describe("presigned queries", () => {
  const good: [string, string][] = [
    ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
    ["X-Amz-Credential", "CSTSAAAAAAAAAAAAAAAA/20261202/us-east-1/s3/aws4_request"],
    ["X-Amz-Date", "20261202T010203Z"],
    ["X-Amz-Expires", "300"],
    ["X-Amz-SignedHeaders", "host"],
    ["X-Amz-Signature", "a".repeat(64)],
  ];

  test("a complete SigV4 query parses; its parameters are stripped for the decision", () => {
    const p = parsePresigned([...good, ["versionId", "3"]]);
    expect(typeof p).not.toBe("string");
    if (typeof p !== "string") {
      expect(p.auth.accessKeyId).toBe("CSTSAAAAAAAAAAAAAAAA");
      expect(p.presigned).toEqual({ amzDate: "20261202T010203Z", expiresSeconds: 300 });
    }
    expect(withoutPresign([...good, ["versionId", "3"]])).toEqual([["versionId", "3"]]);
  });

  test("missing, repeated, mis-cased, over-long, injected and SigV2 variants are refused", () => {
    const set = (k: string, v: string) => good.map(([a, b]) => [a, a === k ? v : b] as [string, string]);
    const bad: [string, string][][] = [
      good.filter(([k]) => k !== "X-Amz-Expires"),
      [...good, ["X-Amz-Date", "20261202T010203Z"]],
      [...good.filter(([k]) => k !== "X-Amz-Date"), ["x-amz-date", "20261202T010203Z"]],
      set("X-Amz-Expires", "604801"),
      set("X-Amz-Expires", "0"),
      set("X-Amz-Algorithm", "AWS4-HMAC-SHA1"),
      set("X-Amz-Credential", "CSTSAAAAAAAAAAAAAAAA/20261202/us-east-1/s3/aws4_request, SignedHeaders=x"),
      set("X-Amz-SignedHeaders", "host;x-amz-date,Signature=b"),
      [...good, ["X-Amz-Security-Token", "t"]],
      [
        ["AWSAccessKeyId", "CSTSAAAAAAAAAAAAAAAA"],
        ["Signature", "x"],
        ["Expires", "1"],
      ],
    ];
    for (const q of bad) expect(typeof parsePresigned(q)).toBe("string");
  });
});
