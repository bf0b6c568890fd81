import { describe, expect, test } from "bun:test";
import { firstKeyword, recordMode } from "./record-mode.ts";

const cmd = (text: string) => ({ protocol: "postgres", text });

describe("recordMode", () => {
  test("the policy's sync and the setting `all` always hold; `none` never adds a hold", () => {
    expect(recordMode("writes", "sync", cmd("select 1"))).toBe("sync");
    expect(recordMode("all", "buffered", cmd("select 1"))).toBe("sync");
    expect(recordMode("none", "buffered", cmd("delete from t"))).toBe("buffered");
  });

  test("classified statements are judged by kind: pgbench's `SELECT …;` is a read", () => {
    const select = [{ kind: "select" }];
    expect(recordMode("writes", "buffered", cmd("SELECT abalance FROM a WHERE aid = 1;"), select, true)).toBe(
      "buffered",
    );
    expect(
      recordMode("writes", "buffered", cmd("UPDATE a SET x = 1 WHERE id = 1"), [{ kind: "update" }]),
    ).toBe("sync");
    expect(
      recordMode("writes", "buffered", cmd("select 1; delete from t"), [...select, { kind: "delete" }]),
    ).toBe("sync");
  });

  test("a read calling a function off the vetted list (or not proven to) is held like a write", () => {
    const select = [{ kind: "select" }];
    expect(recordMode("writes", "buffered", cmd("SELECT nextval('s')"), select, false)).toBe("sync");
    expect(recordMode("writes", "buffered", cmd("SELECT pg_advisory_lock(1)"), select)).toBe("sync");
    expect(recordMode("writes", "buffered", cmd("SELECT lower('x')"), select, true)).toBe("buffered");
    expect(recordMode("writes", "buffered", cmd("SET a = 1"), [{ kind: "set" }], true)).toBe("buffered");
    expect(recordMode("none", "buffered", cmd("SELECT nextval('s')"), select, false)).toBe("buffered");
  });

  test("without a classification the first keyword decides, and a `;` may hide a write", () => {
    expect(recordMode("writes", "buffered", cmd("/* c */ (select 1)"))).toBe("buffered");
    expect(recordMode("writes", "buffered", cmd("select 1; delete from t"))).toBe("sync");
    expect(recordMode("writes", "buffered", cmd("explain analyze delete from t"))).toBe("sync");
    expect(firstKeyword("-- x\n /* a /* nested */ b */ UPDATE t")).toBe("update");
  });
});
