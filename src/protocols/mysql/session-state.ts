// The server's own reports of session-state changes (CLIENT_SESSION_TRACK), read from OK packets and
// checked against what the gateway assumes when it lexes and decides (ENFORCEMENT rule 1). Pure.
//
// Layout (MySQL "OK_Packet", page protocol_basic_ok_packet; MariaDB "OK_Packet" the same):
//   int<1> 0x00|0xfe, int<lenenc> affected_rows, int<lenenc> last_insert_id, int<2> status, int<2> warnings,
//   with CLIENT_SESSION_TRACK: string<lenenc> info, and if status has SERVER_SESSION_STATE_CHANGED:
//   string<lenenc> session_state_info = repeated { int<1> type, string<lenenc> data }.
// Types (enum_session_state_type, "Session State Information"): 0 SESSION_TRACK_SYSTEM_VARIABLES, data =
// string<lenenc> name, string<lenenc> value; 1 SESSION_TRACK_SCHEMA, data = string<lenenc> schema;
// 2 SESSION_TRACK_STATE_CHANGE, data = string<lenenc> "1"|"0"; 3 GTIDS; 4 TRANSACTION_CHARACTERISTICS;
// 5 TRANSACTION_STATE (MariaDB: SESSION_TRACK_TRANSACTION_TYPE).
import { RESULT_CHARSETS, unsafeSqlMode } from "../../sql/mysql-tokens.ts";
import { Reader, Status, text, Writer } from "./codec.ts";

export const Track = {
  SYSTEM_VARIABLES: 0,
  SCHEMA: 1,
  STATE_CHANGE: 2,
} as const;

export interface SessionChange {
  type: number;
  /** System variables: the variable's name (lower-cased); the schema: "schema". */
  name: string;
  value: string;
}

export interface OkTail {
  affectedRows: number;
  lastInsertId: number;
  status: number;
  warnings: number;
  info: Uint8Array;
  changes: SessionChange[];
}

/** Reads an OK packet (0x00, or 0xfe under DEPRECATE_EOF) sent to a session that negotiated SESSION_TRACK. */
export function parseTrackedOk(payload: Uint8Array): OkTail {
  const r = new Reader(payload);
  r.int1();
  const affectedRows = r.lenenc() ?? 0;
  const lastInsertId = r.lenenc() ?? 0;
  const status = r.int2();
  const warnings = r.int2();
  // MariaDB leaves the info out when it is empty and nothing changed.
  const info = r.left > 0 ? r.lenencBytes() : new Uint8Array(0);
  const changes: SessionChange[] = [];
  if (status & Status.SESSION_STATE_CHANGED && r.left > 0) {
    const state = new Reader(r.lenencBytes());
    while (state.left > 0) {
      const type = state.int1();
      const data = new Reader(state.lenencBytes());
      if (type === Track.SYSTEM_VARIABLES) {
        const name = text(data.lenencBytes()).toLowerCase();
        changes.push({ type, name, value: text(data.lenencBytes()) });
      } else if (type === Track.SCHEMA) {
        changes.push({ type, name: "schema", value: text(data.lenencBytes()) });
      } else changes.push({ type, name: `type ${type}`, value: "" });
    }
  }
  return { affectedRows, lastInsertId, status, warnings, info, changes };
}

/**
 * The first change the gateway did not expect, as a reason to end the session; null when all agree.
 * Pinned: sql_mode's lexing-neutral modes, utf8mb4 on the client side, result character sets the
 * masker reads, the schema the connection names, and the tracking itself.
 */
export function unexpectedChange(changes: readonly SessionChange[], database: string): string | null {
  for (const c of changes) {
    const value = c.value.toLowerCase();
    if (c.type === Track.SCHEMA) {
      if (c.value !== database) return `the current database became ${c.value || "none"}`;
      continue;
    }
    if (c.type !== Track.SYSTEM_VARIABLES) continue;
    if (c.name === "sql_mode") {
      const bad = unsafeSqlMode(value);
      if (bad !== null) return `sql_mode now includes ${bad.toUpperCase()}`;
    } else if (c.name === "character_set_client" || c.name === "character_set_connection") {
      if (value !== "utf8mb4") return `${c.name} became ${c.value}`;
    } else if (c.name === "collation_connection") {
      if (!value.startsWith("utf8mb4_")) return `${c.name} became ${c.value}`;
    } else if (c.name === "character_set_results") {
      if (!RESULT_CHARSETS.has(value || "null")) return `${c.name} became ${c.value}`;
    } else if (c.name.startsWith("session_track")) {
      if (c.name !== "session_track_system_variables" || value !== "*") return `${c.name} became ${c.value}`;
    }
  }
  return null;
}

/**
 * The OK packet as a client that did not negotiate SESSION_TRACK reads it: the state report dropped and
 * its status flag cleared (the gateway always asks the server for it).
 */
export function untrackedOk(payload: Uint8Array, ok: OkTail): Uint8Array {
  const w = new Writer()
    .int1(payload[0]!)
    .lenenc(ok.affectedRows)
    .lenenc(ok.lastInsertId)
    .int2(ok.status & ~Status.SESSION_STATE_CHANGED)
    .int2(ok.warnings);
  if (ok.info.length > 0) w.lenencBytes(ok.info);
  return w.end();
}
