// MySQL/MariaDB lexing as the server does it under the modes the gateway pins (sql_mode without
// ANSI_QUOTES and NO_BACKSLASH_ESCAPES, utf8mb4): statements split at `;` outside quotes and comments,
// the literal-free shape of each, and the constructs the grammar library would read differently from the
// server, which are refused: executable comments (`/*! … */`, `/*M! … */`, run by the server, skipped by
// any parser), charset introducers (`_latin1'…'`), and `--` followed by a non-space (not a comment in MySQL).
// MySQL reference: "Comments", "String Literals", "Schema Object Names".

export interface MysqlToken {
  kind: "word" | "string" | "number" | "quoted" | "variable" | "symbol" | "param";
  /** Lower-cased for words; the source text otherwise. */
  text: string;
  start: number;
  end: number;
}

export interface MysqlPiece {
  /** The statement's text, without the `;` that ends it. */
  text: string;
  tokens: MysqlToken[];
  /** Literal-free form: strings and numbers replaced by `?`, whitespace and comments dropped. */
  shape: string;
}

export type LexResult = { ok: true; pieces: MysqlPiece[] } | { ok: false; error: string; position: number };

const isSpace = (c: string) =>
  c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v";
const isDigit = (c: string) => c >= "0" && c <= "9";
// Identifier characters (Schema Object Names: [0-9a-zA-Z$_] and U+0080 upward).
const isWord = (c: string) => /[0-9A-Za-z$_]/.test(c) || c.charCodeAt(0) >= 0x80;

export function lexMysql(sql: string): LexResult {
  const pieces: MysqlPiece[] = [];
  let tokens: MysqlToken[] = [];
  let pieceStart = 0;
  let i = 0;
  const n = sql.length;
  const fail = (error: string, at: number): LexResult => ({ ok: false, error, position: at + 1 });
  const finish = (end: number) => {
    const text = sql.slice(pieceStart, end);
    if (tokens.length > 0) pieces.push({ text, tokens, shape: shapeOf(tokens) });
    tokens = [];
  };
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1] ?? "";
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === "#") {
      const e = sql.indexOf("\n", i);
      i = e < 0 ? n : e + 1;
      continue;
    }
    if (c === "-" && next === "-") {
      const after = sql[i + 2];
      // "--" starts a comment only when followed by whitespace or a control character, or at the end.
      if (after === undefined || after <= " ") {
        const e = sql.indexOf("\n", i);
        i = e < 0 ? n : e + 1;
        continue;
      }
      return fail("'--' followed by a non-space is ambiguous; write '- -' or a comment '-- '", i);
    }
    if (c === "/" && next === "*") {
      const third = sql[i + 2];
      if (third === "!" || (third === "M" && sql[i + 3] === "!"))
        return fail("executable comments (/*! ... */) are refused: the server runs their content", i);
      const e = sql.indexOf("*/", i + 2);
      if (e < 0) return fail("unterminated comment", i);
      i = e + 2;
      continue;
    }
    if (c === "'" || c === '"') {
      const start = i;
      i++;
      for (;;) {
        if (i >= n) return fail("unterminated string", start);
        const d = sql[i]!;
        if (d === "\\") {
          i += 2;
          continue;
        }
        if (d === c) {
          if (sql[i + 1] === c) {
            i += 2;
            continue;
          }
          i++;
          break;
        }
        i++;
      }
      tokens.push({ kind: "string", text: sql.slice(start, i), start, end: i });
      continue;
    }
    if (c === "`") {
      const start = i;
      i++;
      for (;;) {
        if (i >= n) return fail("unterminated quoted identifier", start);
        if (sql[i] === "`") {
          if (sql[i + 1] === "`") {
            i += 2;
            continue;
          }
          i++;
          break;
        }
        i++;
      }
      tokens.push({ kind: "quoted", text: sql.slice(start, i), start, end: i });
      continue;
    }
    if (c === ";") {
      finish(i);
      i++;
      pieceStart = i;
      continue;
    }
    if (c === "?") {
      tokens.push({ kind: "param", text: "?", start: i, end: i + 1 });
      i++;
      continue;
    }
    if (c === "@") {
      const start = i;
      i++;
      if (sql[i] === "@") i++;
      if (sql[i] === "`" || sql[i] === "'" || sql[i] === '"')
        return fail("quoted variable names are refused", start);
      while (i < n && (isWord(sql[i]!) || sql[i] === ".")) i++;
      tokens.push({ kind: "variable", text: sql.slice(start, i).toLowerCase(), start, end: i });
      continue;
    }
    if (isDigit(c) || (c === "." && isDigit(next))) {
      const start = i;
      while (i < n && (isWord(sql[i]!) || sql[i] === ".")) {
        // 1e+5 / 1e-5
        if ((sql[i] === "e" || sql[i] === "E") && (sql[i + 1] === "+" || sql[i + 1] === "-")) i++;
        i++;
      }
      const word = sql.slice(start, i);
      // 1abc is an identifier in MySQL; a number otherwise.
      const kind = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^0x[0-9a-fA-F]+$|^0b[01]+$/.test(word)
        ? "number"
        : "word";
      tokens.push({ kind, text: kind === "word" ? word.toLowerCase() : word, start, end: i });
      continue;
    }
    if (isWord(c)) {
      const start = i;
      while (i < n && isWord(sql[i]!)) i++;
      const word = sql.slice(start, i);
      const quote = sql[i];
      if (quote === "'" || quote === '"') {
        const lower = word.toLowerCase();
        // X'41', B'01', N'text' are literals; `_charset'...'` introducers are refused (the grammar
        // library reads `_latin1'a'` as a column with an alias).
        if (lower === "x" || lower === "b" || lower === "n") {
          i = start + word.length; // the string itself is lexed next as a string token
          tokens.push({ kind: "symbol", text: lower, start, end: i });
          continue;
        }
        return fail(`character set introducers (${word}'...') are refused`, start);
      }
      tokens.push({ kind: "word", text: word.toLowerCase(), start, end: i });
      continue;
    }
    // Operators: longest first.
    const three = sql.slice(i, i + 3);
    const two = sql.slice(i, i + 2);
    const op = ["<=>", "->>"].includes(three)
      ? three
      : ["<=", ">=", "<>", "!=", ":=", "||", "&&", "<<", ">>", "->"].includes(two)
        ? two
        : c;
    tokens.push({ kind: "symbol", text: op, start: i, end: i + op.length });
    i += op.length;
  }
  finish(n);
  return { ok: true, pieces };
}

// Words after which a string is a value (so its content does not change what the statement means).
const VALUE_WORDS = new Set([
  "like",
  "regexp",
  "rlike",
  "and",
  "or",
  "not",
  "xor",
  "then",
  "else",
  "when",
  "is",
  "between",
  "values",
  "value",
  "limit",
  "offset",
  "in",
  "select",
  "where",
  "having",
  "on",
  "interval",
  "binary",
  "escape",
  "div",
  "mod",
  "case",
  "return",
  "set",
  "x",
  "b",
  "n",
  "distinct",
  "all",
  "any",
  "some",
  "exists",
]);

/**
 * Literal-free form, for the decision cache. A literal stays in the shape where its value can change the
 * meaning: a string in alias position (`ssn 'a'`, `ssn as 'a'`) names a column, and a number after `by`
 * or a comma may be a position (`order by 2`). SET statements keep every literal (their values decide).
 */
function shapeOf(tokens: readonly MysqlToken[]): string {
  if (tokens[0]?.kind === "word" && tokens[0].text === "set") return tokens.map((t) => t.text).join(" ");
  const out: string[] = [];
  let prev: MysqlToken | undefined;
  for (const t of tokens) {
    let text = t.text;
    if (t.kind === "string") {
      const value =
        prev === undefined ||
        (prev.kind === "symbol" && prev.text !== ")") ||
        (prev.kind === "word" && VALUE_WORDS.has(prev.text));
      if (value) text = "?";
    } else if (t.kind === "number") {
      const positional = prev !== undefined && (prev.text === "by" || prev.text === ",");
      if (!positional) text = "?";
    }
    out.push(text);
    prev = t;
  }
  return out.join(" ");
}
