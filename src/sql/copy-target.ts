// What a COPY ... TO STDOUT sends, learned from the parse tree: a query with the same output columns (to
// describe upstream, so its rows can be masked like a result's), the format and the options the row
// masker must know. Statements that are not COPY TO STDOUT are skipped; the order is the statements'.
import { parseSync, scanSync } from "libpg-query";
import { isObject, type Json, str } from "./lineage.ts";

export interface CopyOut {
  /** A SELECT with the COPY's output columns in order: `select a, b from t`, or the inner query's text. */
  query: string;
  format: "text" | "csv" | "binary";
  /** The field delimiter byte when COPY set one, else null (tab for text, comma for CSV). */
  delimiter: number | null;
  header: boolean;
  /** Options the row masker does not model (NULL, QUOTE, ESCAPE, ENCODING): masking such a COPY is refused. */
  unsupported: string[];
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

function optionValue(arg: unknown): string | boolean | number | undefined {
  if (!isObject(arg)) return undefined;
  if (isObject(arg.String)) return str(arg.String.sval);
  if (isObject(arg.Boolean)) return arg.Boolean.boolval === true;
  if (isObject(arg.Integer)) return typeof arg.Integer.ival === "number" ? arg.Integer.ival : 0;
  return undefined;
}

function truthy(v: string | boolean | number | undefined): boolean {
  if (v === undefined) return true; // `HEADER` alone
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  return !["false", "off", "0", "no"].includes(v.toLowerCase());
}

/** The text of the parenthesized query that follows COPY in text[from, to). */
function innerQuery(text: string, from: number, to: number): string | null {
  const tokens = scanSync(text.slice(from, to)).tokens;
  const open = tokens[1];
  if (open?.text !== "(") return null;
  let depth = 0;
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.text === "(") depth++;
    else if (t.text === ")" && --depth === 0) return text.slice(from + open.end, from + t.start);
  }
  return null;
}

/** Every COPY ... TO STDOUT of `text`, in order. Throws when the text does not parse. */
export function copyOutputs(text: string): CopyOut[] {
  const out: CopyOut[] = [];
  for (const raw of parseSync(text).stmts ?? []) {
    const copy =
      isObject(raw.stmt) && isObject((raw.stmt as Json).CopyStmt)
        ? ((raw.stmt as Json).CopyStmt as Json)
        : null;
    if (!copy || copy.is_from === true || typeof copy.filename === "string" || copy.is_program === true)
      continue;
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : text.length;
    let query: string | null;
    if (copy.query !== undefined) query = innerQuery(text, start, end);
    else {
      const rel = isObject(copy.relation) ? copy.relation : {};
      const name = str(rel.relname) ?? "";
      const table = str(rel.schemaname) ? `${quote(rel.schemaname as string)}.${quote(name)}` : quote(name);
      const cols = Array.isArray(copy.attlist)
        ? copy.attlist.map((a) => quote(isObject(a) && isObject(a.String) ? (str(a.String.sval) ?? "") : ""))
        : ["*"];
      query = `select ${cols.join(", ")} from ${table}`;
    }
    const item: CopyOut = {
      query: query ?? "",
      format: "text",
      delimiter: null,
      header: false,
      unsupported: [],
    };
    if (query === null) item.unsupported.push("query text");
    for (const o of Array.isArray(copy.options) ? copy.options : []) {
      const def = isObject(o) && isObject(o.DefElem) ? o.DefElem : {};
      const name = str(def.defname) ?? "";
      const value = optionValue(def.arg);
      if (name === "format") {
        const f = String(value).toLowerCase();
        item.format = f === "csv" ? "csv" : f === "binary" ? "binary" : "text";
      } else if (name === "delimiter") {
        const d = typeof value === "string" ? new TextEncoder().encode(value) : new Uint8Array();
        if (d.length === 1) item.delimiter = d[0]!;
        else item.unsupported.push("delimiter");
      } else if (name === "header") item.header = truthy(value);
      else if (name !== "force_quote" && name !== "force_not_null" && name !== "force_null")
        item.unsupported.push(name);
    }
    out.push(item);
  }
  return out;
}
