// A cheap cache key for SQL text: numeric and plain string literals replaced by `?`, computed in JS so a
// statement repeated with new literals (the common case for agents and drivers' simple protocol) skips
// the parser's normalize call. The classification never reads literal values (walk.ts), so texts with the
// same key classify alike — provided the key is computed on tokens this scanner fully understands. It
// therefore covers a deliberately small subset and answers null for anything else (dollar quotes,
// escape strings, comments, prefixed strings, backslashes), which then takes the parser's path.

const DML = /^\s*\(*\s*(select|insert|update|delete|with|values|table)\b/i;

const POSITIONAL = /\b(order|group)\s+by\b|\bdistinct\s+on\b/i;

/** [A-Za-z0-9_$] */
function isIdent(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36;
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/** Index just past the quoted run that starts at `i` (a doubled quote is an escaped one), or -1 if unclosed. */
function pastQuoted(text: string, i: number, quote: string): number {
  const code = quote.charCodeAt(0);
  let j = i + 1;
  for (;;) {
    const q = text.indexOf(quote, j);
    if (q === -1) return -1;
    if (text.charCodeAt(q + 1) === code) {
      j = q + 2;
      continue;
    }
    return q + 1;
  }
}

export function literalKey(text: string): string | null {
  if (text.includes("$") || text.includes("\\") || text.includes("--") || text.includes("/*")) return null;
  // In plain DML every literal is a constant the parser's own normalization replaces too; elsewhere
  // (COPY file names, SET values, NOTIFY payloads) literals are part of the shape and the fingerprint.
  if (!DML.test(text)) return null;
  // ORDER BY 2, GROUP BY 1, DISTINCT ON (2) read numbers as output-column positions: they are part of
  // the shape (`order by 1` and `order by 2` sort on different columns), so such texts take the parser.
  if (POSITIONAL.test(text)) return null;
  // Verbatim runs are copied as slices between literals, not character by character: this runs on every
  // simple-protocol statement that misses the exact-text cache.
  let out = "";
  let from = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 39 /* ' */) {
      // A string prefixed by a letter (E'', U&'', B'', X'', N'') has its own lexing rules: not ours.
      const before = i > 0 ? text.charCodeAt(i - 1) : 32;
      if (isIdent(before) || before === 38 /* & */) return null;
      const j = pastQuoted(text, i, "'");
      if (j === -1) return null;
      out += `${text.slice(from, i)}?`;
      i = from = j;
    } else if (c === 34 /* " */) {
      // Quoted identifiers are names, kept verbatim.
      const j = pastQuoted(text, i, '"');
      if (j === -1) return null;
      i = j;
    } else if (isDigit(c) && (i === 0 || !isIdent(text.charCodeAt(i - 1)))) {
      if (i > 0 && text.charCodeAt(i - 1) === 46) return null; // `.5` or `t.1`: not a plain number token
      let j = i;
      while (j < n && isDigit(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) === 46 /* . */) {
        j++;
        while (j < n && isDigit(text.charCodeAt(j))) j++;
      }
      const e = text.charCodeAt(j);
      if (e === 101 || e === 69 /* e E */) {
        let k = j + 1;
        const sign = text.charCodeAt(k);
        if (sign === 43 || sign === 45) k++;
        if (!isDigit(text.charCodeAt(k))) return null;
        while (k < n && isDigit(text.charCodeAt(k))) k++;
        j = k;
      }
      // `1abc` lexes as a number followed by an alias; `1_000` and `0x1F` are newer number forms.
      if (j < n && (isIdent(text.charCodeAt(j)) || text.charCodeAt(j) === 46)) return null;
      out += `${text.slice(from, i)}?`;
      i = from = j;
    } else i++;
  }
  return out + text.slice(from);
}
