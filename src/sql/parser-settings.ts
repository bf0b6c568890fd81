// Lexing parity: the classifier reads SQL as the server does only while the server's lexer runs under the
// settings the parser here assumes (client_encoding UTF8, standard_conforming_strings on, backslash_quote
// not off). A statement that would change one of them to anything else is refused for every identity (it
// is about parsing, not permission): under SJIS, BIG5 or GBK the server reads 0x95 0x5C as one character
// and a string ends later than the gateway thinks; with standard_conforming_strings off a backslash escapes
// the closing quote. Setting one to the value assumed, RESET (the session's reset value is the one the
// gateway pinned at start-up) and SHOW stay allowed.
//
// The decision depends on literal values, which the classifier's shape caches merge: every statement that
// sets a parser setting or calls set_config (whatever its arguments) is reported as literal-sensitive and
// cached by its exact text only.

/** Parser-relevant settings and whether a value (lower-cased) is the one the parser assumes. */
const ASSUMED: Record<string, (value: string) => boolean> = {
  // pg_char_to_encoding ignores case and non-alphanumerics: utf8, UTF-8, unicode all name UTF8.
  client_encoding: (v) => {
    const name = v.replace(/[^a-z0-9]/g, "");
    return name === "utf8" || name === "unicode";
  },
  standard_conforming_strings: (v) => TRUE_WORDS.has(v),
  // on and safe_encoding are alike under UTF8 (a client-only encoding is refused above); off only makes
  // the server reject what the parser accepts, still refused so the two read alike.
  backslash_quote: (v) => v === "safe_encoding" || TRUE_WORDS.has(v),
};

// parse_bool: on, true, yes, 1 and their unambiguous prefixes.
const TRUE_WORDS = new Set(["on", "true", "tru", "tr", "t", "yes", "ye", "y", "1"]);

export const PARSER_SETTINGS: readonly string[] = Object.keys(ASSUMED);

/** Whether `value` for the setting `name` (any case) is what the parser assumes; true for other settings. */
export function parserAssumes(name: string, value: string): boolean {
  const check = ASSUMED[name.toLowerCase()];
  return check ? check(value.trim().toLowerCase()) : true;
}

export const isParserSetting = (name: string): boolean => name.toLowerCase() in ASSUMED;

export interface ParityFinding {
  /** The classification depends on literal values: cache it by exact text only. */
  literalSensitive: boolean;
  /** Why the statement is refused, or null. */
  problem: { setting: string; value: string; message: string } | null;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The value of a constant (`'SJIS'`, `sjis`, `1`, `'x'::text`), or null when it is not one. */
function constant(node: unknown): string | null {
  if (!isObject(node)) return null;
  if (isObject(node.TypeCast)) return constant(node.TypeCast.arg);
  const c = node.A_Const;
  if (!isObject(c)) return null;
  if (isObject(c.sval)) return typeof c.sval.sval === "string" ? c.sval.sval : "";
  if (isObject(c.ival)) return String(c.ival.ival ?? 0);
  if (isObject(c.fval)) return typeof c.fval.fval === "string" ? c.fval.fval : null;
  if (isObject(c.boolval)) return c.boolval.boolval === true ? "true" : "false";
  return null;
}

function lastName(funcname: unknown): string {
  if (!Array.isArray(funcname)) return "";
  const last = funcname[funcname.length - 1];
  return isObject(last) && isObject(last.String) ? String(last.String.sval ?? "").toLowerCase() : "";
}

const refusal = (setting: string, value: string) => ({
  setting,
  value,
  message:
    `${setting} cannot be set to ${JSON.stringify(value)} through Custos: the gateway reads SQL as ` +
    `the server does only with ${setting === "client_encoding" ? "client_encoding UTF8" : `${setting} on`}`,
});

/** Looks through one parsed statement (libpg-query JSON) for SETs and set_config calls of parser settings. */
export function checkParity(stmt: unknown): ParityFinding {
  const finding: ParityFinding = { literalSensitive: false, problem: null };
  const visit = (node: unknown): void => {
    if (finding.problem) return;
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    if (!isObject(node)) return;
    const set = node.VariableSetStmt;
    if (isObject(set) && typeof set.name === "string" && isParserSetting(set.name)) {
      finding.literalSensitive = true;
      if (set.kind === "VAR_SET_VALUE") {
        const args = Array.isArray(set.args) ? set.args : [];
        const values = args.map(constant);
        const value = values.length === 1 ? values[0] : null;
        if (value === null || value === undefined || !parserAssumes(set.name, value)) {
          finding.problem = refusal(set.name.toLowerCase(), values.join(", "));
          return;
        }
      }
      // VAR_SET_DEFAULT and VAR_RESET return to the value the gateway pinned at start-up.
    }
    const call = node.FuncCall;
    if (isObject(call) && lastName(call.funcname) === "set_config") {
      finding.literalSensitive = true;
      const args = Array.isArray(call.args) ? call.args : [];
      const name = constant(args[0]);
      if (name === null) {
        finding.problem = {
          setting: "?",
          value: "?",
          message: "set_config with a setting name that is not a constant cannot be checked by Custos",
        };
        return;
      }
      if (isParserSetting(name)) {
        const value = constant(args[1]);
        if (value === null || !parserAssumes(name, value)) {
          finding.problem = refusal(name.toLowerCase(), value ?? "?");
          return;
        }
      }
    }
    for (const v of Object.values(node)) visit(v);
  };
  visit(stmt);
  return finding;
}
