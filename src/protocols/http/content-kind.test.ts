import { describe, expect, test } from "bun:test";
import { contentKind } from "./content-kind.ts";

describe("content kinds", () => {
  test("content types pick their masker; the unknown is opaque (refused for masked identities)", () => {
    const types = [
      "application/json; charset=utf-8",
      "application/problem+json",
      "application/vnd.api+json",
      "text/plain",
      null,
      "text/csv",
      "text/event-stream",
      "application/x-ndjson",
      "application/x-www-form-urlencoded",
      "application/soap+xml",
      "application/javascript",
      "application/octet-stream",
      "image/png",
      "multipart/mixed",
    ];
    expect(types.map(contentKind)).toEqual([
      "json",
      "json",
      "json",
      "text",
      "text",
      "csv",
      "sse",
      "ndjson",
      "form",
      "xml",
      "text",
      "opaque",
      "opaque",
      "opaque",
    ]);
  });
});
