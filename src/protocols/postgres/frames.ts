// Turns PostgreSQL messages into recording frames: the decoded content that matters for replay and
// evidence. Values stay as byte views (msgpack stores them as binary). Passwords never reach here: the
// relay only sees messages after authentication, and the startup exchange is not recorded.
import type { Frame } from "../../core/frame.ts";
import * as codec from "./codec.ts";

export function frameClient(type: number, m: Uint8Array, t: number): Frame | null {
  switch (type) {
    case 0x51:
      return { t, dir: "client", kind: "Query", data: { text: codec.decodeQuery(m) } };
    case 0x50: {
      const p = codec.decodeParse(m);
      return {
        t,
        dir: "client",
        kind: "Parse",
        data: { name: p.name, text: p.query, param_types: p.paramTypes },
      };
    }
    case 0x42: {
      const b = codec.decodeBind(m);
      return {
        t,
        dir: "client",
        kind: "Bind",
        data: { portal: b.portal, statement: b.statement, params: b.params, param_formats: b.paramFormats },
      };
    }
    case 0x45: {
      const e = codec.decodeExecute(m);
      return { t, dir: "client", kind: "Execute", data: { portal: e.portal, max_rows: e.maxRows } };
    }
    case 0x44:
      return { t, dir: "client", kind: "Describe", data: codec.decodeTarget(m) };
    case 0x43:
      return { t, dir: "client", kind: "Close", data: codec.decodeTarget(m) };
    case 0x53:
      return { t, dir: "client", kind: "Sync" };
    case 0x64:
      return { t, dir: "client", kind: "CopyData", data: { bytes: m.subarray(5) } };
    case 0x63:
      return { t, dir: "client", kind: "CopyDone" };
    case 0x66:
      return { t, dir: "client", kind: "CopyFail", data: { message: codec.body(m).cstring() } };
    case 0x58:
      return { t, dir: "client", kind: "Terminate" };
    case 0x46:
      return { t, dir: "client", kind: "FunctionCall" };
    default:
      return null; // Flush carries nothing worth keeping
  }
}

export function frameServer(type: number, m: Uint8Array, t: number): Frame | null {
  switch (type) {
    case 0x44:
      return { t, dir: "server", kind: "DataRow", data: { values: codec.decodeDataRow(m) } };
    case 0x54:
      return {
        t,
        dir: "server",
        kind: "RowDescription",
        data: {
          fields: codec.decodeRowDescription(m).map((f) => ({
            name: f.name,
            table_oid: f.tableOid,
            column: f.column,
            type_oid: f.typeOid,
            format: f.format,
          })),
        },
      };
    case 0x43:
      return { t, dir: "server", kind: "CommandComplete", data: { tag: codec.decodeCommandComplete(m) } };
    case 0x45:
      return { t, dir: "server", kind: "ErrorResponse", data: codec.decodeFields(m) };
    case 0x4e:
      return { t, dir: "server", kind: "NoticeResponse", data: codec.decodeFields(m) };
    case 0x5a:
      return { t, dir: "server", kind: "ReadyForQuery", data: { status: codec.decodeReadyForQuery(m) } };
    case 0x53:
      return { t, dir: "server", kind: "ParameterStatus", data: codec.decodeParameterStatus(m) };
    case 0x41: {
      const r = codec.body(m);
      return {
        t,
        dir: "server",
        kind: "Notification",
        data: { pid: r.int32(), channel: r.cstring(), payload: r.cstring() },
      };
    }
    case 0x64:
      return { t, dir: "server", kind: "CopyData", data: { bytes: m.subarray(5) } };
    case 0x47:
      return { t, dir: "server", kind: "CopyInResponse" };
    case 0x48:
      return { t, dir: "server", kind: "CopyOutResponse" };
    case 0x63:
      return { t, dir: "server", kind: "CopyDone" };
    case 0x49:
      return { t, dir: "server", kind: "EmptyQueryResponse" };
    case 0x73:
      return { t, dir: "server", kind: "PortalSuspended" };
    default:
      return null; // ParseComplete, BindComplete, NoData…: implied by the requests and the ReadyForQuery
  }
}
