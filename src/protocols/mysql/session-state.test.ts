import { describe, expect, test } from "bun:test";
import { Status, utf8, Writer } from "./codec.ts";
import { parseTrackedOk, Track, unexpectedChange, untrackedOk } from "./session-state.ts";

const lenenc = (s: string) => new Writer().lenencBytes(utf8(s)).end();
function entry(type: number, ...values: string[]): Uint8Array {
  const data = new Writer();
  for (const v of values) data.lenencBytes(utf8(v));
  return new Writer().int1(type).lenencBytes(data.end()).end();
}
function ok(status: number, info: string, ...entries: Uint8Array[]): Uint8Array {
  const w = new Writer().int1(0).lenenc(1).lenenc(0).int2(status).int2(0).lenencBytes(utf8(info));
  if (entries.length) w.lenencBytes(new Writer().bytes(Buffer.concat(entries)).end());
  return w.end();
}

describe("session state reports (OK packet with CLIENT_SESSION_TRACK)", () => {
  test("variables and the schema are read; MariaDB's short OK has none", () => {
    const p = ok(
      Status.AUTOCOMMIT | Status.SESSION_STATE_CHANGED,
      "",
      entry(Track.SYSTEM_VARIABLES, "sql_mode", "ANSI_QUOTES"),
      entry(Track.SCHEMA, "other"),
      entry(Track.STATE_CHANGE, "1"),
    );
    const tail = parseTrackedOk(p);
    expect(tail.changes.map((c) => [c.name, c.value])).toEqual([
      ["sql_mode", "ANSI_QUOTES"],
      ["schema", "other"],
      ["type 2", ""],
    ]);
    expect(parseTrackedOk(new Uint8Array([0, 0, 0, 2, 0, 0, 0])).changes).toEqual([]);
    expect(lenenc("x").length).toBe(2);
  });

  test("what the gateway does not assume is named; harmless changes pass", () => {
    const v = (name: string, value: string) => ({ type: Track.SYSTEM_VARIABLES, name, value });
    const refused = [
      v("sql_mode", "STRICT_TRANS_TABLES,ANSI_QUOTES"),
      v("sql_mode", "NO_BACKSLASH_ESCAPES"),
      v("character_set_client", "gbk"),
      v("character_set_connection", "latin1"),
      v("collation_connection", "big5_chinese_ci"),
      v("character_set_results", "utf16"),
      v("session_track_system_variables", "autocommit"),
      v("session_track_schema", "OFF"),
      { type: Track.SCHEMA, name: "schema", value: "mysql" },
      { type: Track.SCHEMA, name: "schema", value: "" },
    ];
    for (const c of refused) expect(unexpectedChange([c], "loans")).not.toBeNull();
    const fine = [
      v("sql_mode", "STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION"),
      v("time_zone", "+01:00"),
      v("autocommit", "OFF"),
      v("character_set_results", "utf8mb4"),
      v("collation_connection", "utf8mb4_unicode_ci"),
      v("session_track_system_variables", "*"),
      { type: Track.SCHEMA, name: "schema", value: "loans" },
      { type: Track.STATE_CHANGE, name: "type 2", value: "" },
    ];
    expect(unexpectedChange(fine, "loans")).toBeNull();
  });

  test("a client without SESSION_TRACK gets the OK without the report or its flag", () => {
    const p = ok(Status.AUTOCOMMIT | Status.SESSION_STATE_CHANGED, "", entry(Track.SCHEMA, "loans"));
    const out = untrackedOk(p, parseTrackedOk(p));
    expect([...out]).toEqual([0, 1, 0, Status.AUTOCOMMIT, 0, 0, 0]);
    const info = ok(
      Status.AUTOCOMMIT | Status.SESSION_STATE_CHANGED,
      "Rows matched: 1",
      entry(Track.SCHEMA, "loans"),
    );
    expect(Buffer.from(untrackedOk(info, parseTrackedOk(info))).toString("latin1")).toEndWith(
      "\x0fRows matched: 1",
    );
  });
});
