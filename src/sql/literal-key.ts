// A cheap cache key for SQL text: numeric and plain string literals replaced by `?`, computed in JS so a
// statement repeated with new literals (the common case for agents and drivers' simple protocol) skips
// the parser's normalize call. The classification never reads literal values (walk.ts), so texts with the
// same key classify alike — provided the key is computed on tokens this scanner fully understands. It
// therefore covers a deliberately small subset and answers null for anything else (dollar quotes,
// escape strings, comments, prefixed strings, backslashes), which then takes the parser's path.

const IDENT = /[A-Za-z0-9_$]/;
const DML = /^\s*\(*\s*(select|insert|update|delete|with|values|table)\b/i;

export function literalKey(text: string): string | null {
  if (text.includes("$") || text.includes("\\") || text.includes("--") || text.includes("/*")) return null;
  // In plain DML every literal is a constant the parser's own normalization replaces too; elsewhere
  // (COPY file names, SET values, NOTIFY payloads) literals are part of the shape and the fingerprint.
  if (!DML.test(text)) return null;
  let out = "";
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === "'") {
      // A string prefixed by a letter (E'', U&'', B'', X'', N'') has its own lexing rules: not ours.
      const before = i > 0 ? text[i - 1]! : " ";
      if (IDENT.test(before) || before === "&") return null;
      let j = i + 1;
      for (;;) {
        const q = text.indexOf("'", j);
        if (q === -1) return null;
        if (text[q + 1] === "'") {
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      out += "?";
      i = j;
    } else if (c === '"') {
      // Quoted identifiers are names, kept verbatim ("" is an escaped quote).
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q === -1) return null;
        if (text[q + 1] === '"') {
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      out += text.slice(i, j);
      i = j;
    } else if (c >= "0" && c <= "9" && (i === 0 || !IDENT.test(text[i - 1]!))) {
      if (i > 0 && text[i - 1] === ".") return null; // `.5` or `t.1`: not a plain number token
      let j = i;
      while (j < n && text[j]! >= "0" && text[j]! <= "9") j++;
      if (text[j] === ".") {
        j++;
        while (j < n && text[j]! >= "0" && text[j]! <= "9") j++;
      }
      if (text[j] === "e" || text[j] === "E") {
        let k = j + 1;
        if (text[k] === "+" || text[k] === "-") k++;
        if (!(text[k]! >= "0" && text[k]! <= "9")) return null;
        while (k < n && text[k]! >= "0" && text[k]! <= "9") k++;
        j = k;
      }
      // `1abc` lexes as a number followed by an alias; `1_000` and `0x1F` are newer number forms.
      if (j < n && (IDENT.test(text[j]!) || text[j] === ".")) return null;
      out += "?";
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
