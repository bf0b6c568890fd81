// Turns a statement's literals into parameters ($n), so the plan the catalog connection makes of it is the
// generic plan of its shape: what it touches cannot depend on literal values the decision cache ignores.
// Unlike pg_query's normalize, positions stay literal where PostgreSQL reads them as column numbers
// (ORDER BY 2, GROUP BY 1, DISTINCT ON (2)) and where a parameter is not allowed (type modifiers like
// varchar(10), the string of a prefix cast like interval '1 day').
import { parseSync, scanSync } from "libpg-query";

export interface Parameterized {
  text: string;
  /** Highest parameter number the text uses (its own $n and the ones added). */
  params: number;
  /**
   * The type each added parameter's literal has when PostgreSQL cannot infer one from its context (a
   * variadic "any" argument like json_build_object('k', x), a recursive CTE's `select 1`): strings text,
   * integers int4 (int8 when larger), other numbers numeric.
   */
  literalTypes: Map<number, string>;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Clauses whose bare integer items are output-column positions. */
const POSITIONAL = new Set(["sortClause", "groupClause", "distinctClause"]);

const LITERAL_TOKENS = new Set(["SCONST", "ICONST", "FCONST", "BCONST", "XCONST", "USCONST"]);

function isConst(v: unknown): boolean {
  return isObject(v) && isObject(v.A_Const);
}

function collect(tree: unknown): { consts: number[]; maxParam: number } {
  const consts: number[] = [];
  let maxParam = 0;
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const item of v) visit(item);
      return;
    }
    if (!isObject(v)) return;
    for (const [key, value] of Object.entries(v)) {
      if (key === "TypeName" || key === "typeName") continue;
      if (key === "A_Const" && isObject(value)) {
        if (typeof value.location === "number" && !value.isnull && !("boolval" in value))
          consts.push(value.location);
        continue;
      }
      if (key === "ParamRef" && isObject(value) && typeof value.number === "number") {
        maxParam = Math.max(maxParam, value.number);
        continue;
      }
      if (POSITIONAL.has(key) && Array.isArray(value)) {
        for (const item of value) {
          if (isConst(item)) continue;
          if (isObject(item) && isObject(item.SortBy) && isConst(item.SortBy.node)) continue;
          visit(item);
        }
        continue;
      }
      if (key === "TypeCast" && isObject(value)) {
        const arg = value.arg;
        const argLoc = isObject(arg) && isObject(arg.A_Const) ? arg.A_Const.location : undefined;
        // `interval '1 day'`: the cast is written before its string, which must stay a literal.
        if (typeof argLoc === "number" && typeof value.location === "number" && value.location < argLoc)
          continue;
        visit(value);
        continue;
      }
      visit(value);
    }
  };
  visit(tree);
  return { consts, maxParam };
}

/** The type PostgreSQL gives a literal token of its own (int4 when it fits, like the parser's make_const). */
function literalType(kind: string, text: string): string {
  if (kind === "ICONST") {
    const v = Number(text.replace(/_/g, ""));
    return Number.isSafeInteger(v) && v >= -2147483648 && v <= 2147483647 ? "int4" : "int8";
  }
  if (kind === "FCONST") return "numeric";
  if (kind === "BCONST" || kind === "XCONST") return "bit";
  return "text";
}

/** One statement's text with its literals as parameters; throws on a text the parser refuses. */
export function parameterize(text: string): Parameterized {
  const tree = parseSync(text);
  const { consts, maxParam } = collect(tree);
  const literalTypes = new Map<number, string>();
  if (consts.length === 0) return { text, params: maxParam, literalTypes };
  const bytes = Buffer.from(text);
  const tokens = scanSync(text).tokens;
  const at = new Map<number, number>();
  for (const [i, t] of tokens.entries()) at.set(t.start, i);
  const spans: [number, number, string][] = [];
  for (const loc of new Set(consts)) {
    let i = at.get(loc);
    if (i === undefined) continue;
    let start = tokens[i]!.start;
    if (tokens[i]!.text === "-" || tokens[i]!.text === "+") i++;
    const tok = tokens[i];
    if (!tok || !LITERAL_TOKENS.has(tok.tokenName)) continue;
    spans.push([start, tok.end, tok.tokenName]);
    start = tok.end;
  }
  spans.sort((a, b) => a[0] - b[0]);
  let n = maxParam;
  const parts: Buffer[] = [];
  let pos = 0;
  for (const [s, e, kind] of spans) {
    if (s < pos) continue;
    parts.push(bytes.subarray(pos, s), Buffer.from(`$${++n}`));
    literalTypes.set(n, literalType(kind, bytes.subarray(s, e).toString()));
    pos = e;
  }
  parts.push(bytes.subarray(pos));
  return { text: Buffer.concat(parts).toString(), params: n, literalTypes };
}
