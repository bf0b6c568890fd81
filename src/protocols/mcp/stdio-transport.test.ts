// The stdio child's stderr as it may reach the log: every secret it was given and every credential shape
// removed, long lines cut; harmless text kept so the log still helps.
import { describe, expect, test } from "bun:test";
import { redactStderr } from "./stdio-transport.ts";

const SECRET = "s3cr3t-Value-77";

describe("redactStderr", () => {
  test("removes the child's secrets and credential shapes", () => {
    for (const line of [
      `connecting with ${SECRET}`,
      `api_key=${SECRET}x`,
      `API-KEY: "quoted ${SECRET}"`,
      "Authorization: Bearer abc.def.ghi",
      "token=short",
      "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig",
      "opaque 0123456789abcdef0123456789abcdef0123",
    ]) {
      const out = redactStderr(line, [SECRET]);
      expect(out).toContain("[redacted]");
      expect(out).not.toContain(SECRET);
      expect(out).not.toContain("abc.def.ghi");
      expect(out).not.toContain("eyJzdWIi");
      expect(out).not.toContain("0123456789abcdef0123456789abcdef");
    }
  });

  test("keeps harmless text and cuts long lines", () => {
    expect(redactStderr("listening on stdio, 3 tools", [SECRET])).toBe("listening on stdio, 3 tools");
    const long = redactStderr("a ".repeat(2000), [SECRET]);
    expect(long.length).toBeLessThanOrEqual(513);
    // A secret straddling the cut is still removed.
    expect(redactStderr(`${"b ".repeat(255)}${SECRET}`, [SECRET])).not.toContain(SECRET.slice(0, 4));
  });
});
