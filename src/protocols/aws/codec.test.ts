// The decided operation for a request, pure: S3's REST mapping with its sub-resources, the JSON and query
// protocols' operation names, and the requests refused because the gateway cannot say what they do.
import { describe, expect, test } from "bun:test";
import { awsOperation, type RequestFacts } from "./codec.ts";
import { s3Operation } from "./s3-operation.ts";

const facts = (over: Partial<RequestFacts>): RequestFacts => ({
  service: "s3",
  region: "us-east-1",
  method: "GET",
  path: "/",
  query: [],
  headers: new Headers(),
  body: null,
  paramsBound: 1 << 16,
  ...over,
});

describe("S3 REST mapping", () => {
  const cases: [string, string, [string, string][], string | null, string][] = [
    ["GET", "/", [], null, "ListBuckets"],
    [
      "GET",
      "/b1b",
      [
        ["list-type", "2"],
        ["prefix", "a/"],
      ],
      null,
      "ListObjectsV2",
    ],
    ["GET", "/b1b", [], null, "ListObjects"],
    ["GET", "/b1b", [["acl", ""]], null, "GetBucketAcl"],
    ["PUT", "/b1b", [["acl", ""]], null, "PutBucketAcl"],
    ["DELETE", "/b1b", [], null, "DeleteBucket"],
    ["DELETE", "/b1b", [["policy", ""]], null, "DeleteBucketPolicy"],
    ["POST", "/b1b", [["delete", ""]], null, "DeleteObjects"],
    ["GET", "/b1b/k/e y", [], null, "GetObject"],
    ["GET", "/b1b/k", [["x-id", "GetObject"]], null, "GetObject"],
    ["PUT", "/b1b/k", [], null, "PutObject"],
    ["PUT", "/b1b/k", [], "src/x", "CopyObject"],
    [
      "PUT",
      "/b1b/k",
      [
        ["partNumber", "1"],
        ["uploadId", "u"],
      ],
      null,
      "UploadPart",
    ],
    ["POST", "/b1b/k", [["uploads", ""]], null, "CreateMultipartUpload"],
    ["POST", "/b1b/k", [["uploadId", "u"]], null, "CompleteMultipartUpload"],
    ["DELETE", "/b1b/k", [["uploadId", "u"]], null, "AbortMultipartUpload"],
    ["HEAD", "/b1b/k", [], null, "HeadObject"],
  ];
  for (const [method, path, query, copy, action] of cases) {
    test(`${method} ${path} ${query.map(([k]) => k).join("&")} → ${action}`, () => {
      const op = s3Operation(method, path, query, copy);
      expect(typeof op === "string" ? op : op.action).toBe(action);
    });
  }

  test("unknown sub-resources, combined sub-resources, dot segments and bad bucket names are refused", () => {
    expect(typeof s3Operation("GET", "/b1b", [["select", ""]], null)).toBe("string");
    expect(
      typeof s3Operation(
        "PUT",
        "/b1b",
        [
          ["acl", ""],
          ["policy", ""],
        ],
        null,
      ),
    ).toBe("string");
    expect(typeof s3Operation("GET", "/b1b/a/../k", [], null)).toBe("string");
    expect(typeof s3Operation("GET", "/B_B/k", [], null)).toBe("string");
    expect(
      typeof s3Operation(
        "GET",
        "/b1b",
        [
          ["prefix", "a"],
          ["prefix", "b"],
        ],
        null,
      ),
    ).toBe("string");
    expect(typeof s3Operation("PATCH", "/b1b/k", [], null)).toBe("string");
    expect(typeof s3Operation("PUT", "/b1b/k", [["partNumber", "1"]], null)).toBe("string");
  });
});

describe("JSON and query protocols", () => {
  const json = (target: string, body: unknown, service = "dynamodb") =>
    awsOperation(
      facts({
        service,
        method: "POST",
        headers: new Headers({ "x-amz-target": target, "content-type": "application/x-amz-json-1.0" }),
        body: new TextEncoder().encode(JSON.stringify(body)),
      }),
    );

  test("X-Amz-Target names the action; the table is the resource", () => {
    const op = json("DynamoDB_20120810.GetItem", { TableName: "customers", Key: {} });
    expect(op).toMatchObject({ action: "GetItem", resource: "arn:aws:dynamodb:us-east-1::table/customers" });
  });

  test("a target of another service, a malformed name or a non-object body is refused", () => {
    expect(typeof json("AmazonSQS.ListQueues", {})).toBe("string");
    expect(typeof json("DynamoDB_20120810.Get-Item", {})).toBe("string");
    expect(typeof json("DynamoDB_20120810.GetItem", [1])).toBe("string");
  });

  test("secrets never reach the parameters", () => {
    const op = awsOperation(
      facts({
        service: "iam",
        method: "POST",
        path: "/",
        headers: new Headers({ "content-type": "application/x-www-form-urlencoded" }),
        body: new TextEncoder().encode(
          "Action=ChangePassword&OldPassword=a&NewPassword=b&Version=2010-05-08",
        ),
      }),
    );
    if (typeof op === "string") throw new Error(op);
    expect(op.action).toBe("ChangePassword");
    expect(JSON.stringify(op.params)).not.toContain("OldPassword");
  });

  test("a query parameter repeated between the URL and the body is refused", () => {
    const op = awsOperation(
      facts({
        service: "sts",
        method: "POST",
        query: [["Action", "GetCallerIdentity"]],
        headers: new Headers({ "content-type": "application/x-www-form-urlencoded" }),
        body: new TextEncoder().encode("Action=AssumeRole"),
      }),
    );
    expect(typeof op).toBe("string");
  });
});
