// Reads the column references out of one expression as EXPLAIN (VERBOSE) prints it (ruleutils' deparse):
// `alias.column`, `alias.*`, and bare names (printed unqualified when the plan has one range table entry).
// It never needs to understand the expression, only to find every name in it; what it cannot tell apart
// (a bare word that may be a column) it reports, so a caller deciding on sensitivity errs towards refusing.

export interface ExpressionRef {
  /** The range table alias, absent for a bare name. */
  qualifier?: string;
  /** Column name; `*` for a whole-row reference. */
  name: string;
}

export interface ParsedExpression {
  refs: ExpressionRef[];
  /** The whole expression is one reference (`c.ssn`, `ssn`, `c.*`): its value leaves unchanged. */
  bare: boolean;
}

// Words ruleutils prints that are never column references. A column named like one is still found when
// qualified; unqualified it is missed only in a one-relation plan, where the parse-tree rules see it too.
const KEYWORDS = new Set(
  (
    "and or not is null true false case when then else end in any all some array row distinct from like " +
    "ilike similar to between collate over partition by order asc desc nulls first last filter within " +
    "group exists subplan initplan hashed returns using escape at time zone interval cast current_date " +
    "current_time current_timestamp localtime localtimestamp current_user current_role session_user user " +
    "current_catalog current_schema default unknown"
  ).split(" "),
);

/** Words that continue a multi-word type name after `::` (`character varying`, `timestamp without time zone`). */
const TYPE_WORDS = new Set(
  "character varying double precision timestamp time with without zone bit interval national".split(" "),
);

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57) || c === 36;
}

interface Word {
  text: string;
  quoted: boolean;
  end: number;
}

/** An identifier at `i` (plain or double-quoted), or null. */
function word(s: string, i: number): Word | null {
  const c = s.charCodeAt(i);
  if (c === 34) {
    let out = "";
    let j = i + 1;
    while (j < s.length) {
      if (s.charCodeAt(j) === 34) {
        if (s.charCodeAt(j + 1) === 34) {
          out += '"';
          j += 2;
          continue;
        }
        return { text: out, quoted: true, end: j + 1 };
      }
      out += s[j];
      j++;
    }
    return { text: out, quoted: true, end: j };
  }
  if (!isIdentStart(c)) return null;
  let j = i + 1;
  while (j < s.length && isIdentPart(s.charCodeAt(j))) j++;
  return { text: s.slice(i, j), quoted: false, end: j };
}

function skipString(s: string, i: number): number {
  // '…' with '' doubling; E'…' strings may hold \' too.
  const escapes = i > 0 && (s[i - 1] === "E" || s[i - 1] === "e");
  let j = i + 1;
  while (j < s.length) {
    const c = s[j];
    if (escapes && c === "\\") {
      j += 2;
      continue;
    }
    if (c === "'") {
      if (s[j + 1] === "'") {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return j;
}

function skipSpaces(s: string, i: number): number {
  while (i < s.length && (s[i] === " " || s[i] === "\n" || s[i] === "\t")) i++;
  return i;
}

/** Skips a type name after `::`: qualified, multi-word, with typmods and array brackets. */
function skipType(s: string, i: number): number {
  let j = skipSpaces(s, i);
  for (;;) {
    const w = word(s, j);
    if (!w) break;
    j = w.end;
    if (s[j] === ".") {
      j++;
      continue;
    }
    if (s[j] === "(") {
      const close = s.indexOf(")", j);
      if (close > 0 && /^\(\s*[\d,\s]*\)$/.test(s.slice(j, close + 1))) j = close + 1;
    }
    while (s.startsWith("[]", j)) j += 2;
    const next = skipSpaces(s, j);
    const following = word(s, next);
    if (following && !following.quoted && TYPE_WORDS.has(following.text.toLowerCase())) {
      j = next;
      continue;
    }
    break;
  }
  return j;
}

export function parseExpression(expr: string): ParsedExpression {
  const refs: ExpressionRef[] = [];
  let i = 0;
  let tokens = 0;
  const s = expr;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 39) {
      i = skipString(s, i);
      tokens++;
      continue;
    }
    if (c === 58 && s.charCodeAt(i + 1) === 58) {
      i = skipType(s, i + 2);
      tokens++;
      continue;
    }
    if (c === 36 && s.charCodeAt(i + 1) >= 48 && s.charCodeAt(i + 1) <= 57) {
      // $n: a parameter (or an InitPlan's value); its source is the InitPlan's own output.
      i += 2;
      while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
      tokens++;
      continue;
    }
    if (c >= 48 && c <= 57) {
      // A number (or the digits of `SubPlan 1`).
      while (i < s.length && isIdentPart(s.charCodeAt(i))) i++;
      tokens++;
      continue;
    }
    const w = word(s, i);
    if (!w) {
      i++;
      if (c !== 32 && c !== 40 && c !== 41) tokens++;
      continue;
    }
    tokens++;
    i = w.end;
    // A dotted chain: first.second[.third]; a qualified reference is alias.column.
    if (s[i] === ".") {
      if (s[i + 1] === "*") {
        refs.push({ qualifier: w.text, name: "*" });
        i += 2;
        continue;
      }
      const second = word(s, i + 1);
      if (second) {
        i = second.end;
        if (s[skipSpaces(s, i)] === "(") continue; // schema.function(
        refs.push({ qualifier: w.text, name: second.text });
        // schema.table.column is not printed by EXPLAIN; a third part is a field selection.
        while (s[i] === ".") {
          const more = word(s, i + 1);
          if (!more) break;
          i = more.end;
        }
        continue;
      }
      continue;
    }
    if (s[skipSpaces(s, i)] === "(") continue; // function(
    if (!w.quoted && KEYWORDS.has(w.text.toLowerCase())) continue;
    refs.push({ name: w.text });
  }
  return { refs, bare: refs.length === 1 && tokens === 1 };
}
