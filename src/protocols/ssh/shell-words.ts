// Reads an exec command string the way the target's shell will (`sh -c STRING`, POSIX.1-2017 XCU 2.2-2.10,
// plus the bash extensions a login shell may have: `&>`, `|&`, `<<<`, `$'…'`, brace expansion, process
// substitution). Pure. It does not execute or expand anything: it reports every place the shell would do
// more than run one program with literal arguments — control operators, redirections, substitutions,
// expansions (glob, brace, tilde), assignments, comments — so the policy can require a plain command and
// decide its argv. Anything it is unsure of is reported, never dropped: a report is what fails closed.

export interface ShellWords {
  /** Words after quote removal; substitutions stay as written. */
  argv: string[];
  /** Control operators in order: `;` `&` `&&` `|` `||` `|&` `;;` `(` `)` `newline`. */
  operators: string[];
  /** Redirection operators as written, with any IO number (`2>`, `>>`, `<<`, `<(`). */
  redirections: string[];
  /** The word after each redirection (its file, descriptor or here-document delimiter); not in argv. */
  redirectTargets: string[];
  /** Substitutions as written (`$(id)`, `` `id` ``, `$HOME`, `${x}`, `$((1+1))`, `$'\x41'`). */
  substitutions: string[];
  /** Expansions other than substitution: `glob`, `brace`, `tilde`. */
  expansions: string[];
  /** Leading `NAME=value` words (the program runs with a changed environment). */
  assignments: string[];
  /** A `#` comment starts somewhere (the rest of the line is not run). */
  comment: boolean;
  /** The string cannot be read as the shell would: an unterminated quote or substitution. */
  error: string | null;
  /** No operators, redirections, substitutions, expansions, assignments, comment or error. */
  simple: boolean;
}

const BLANK = new Set([" ", "\t"]);
// XCU 2.2: characters that end an unquoted word and start an operator.
const OPERATOR_START = new Set([";", "&", "|", "(", ")", "<", ">", "\n"]);
const GLOB = new Set(["*", "?", "["]);

export function parseShellWords(input: string): ShellWords {
  const r: ShellWords = {
    argv: [],
    operators: [],
    redirections: [],
    redirectTargets: [],
    substitutions: [],
    expansions: [],
    assignments: [],
    comment: false,
    error: null,
    simple: false,
  };
  const n = input.length;
  let i = 0;
  let word: string | null = null;
  let wordQuoted = false;
  let atCommandStart = true;
  let redirectTarget = false;
  const endWord = () => {
    if (word === null) return;
    if (redirectTarget) {
      r.redirectTargets.push(word);
      redirectTarget = false;
      word = null;
      wordQuoted = false;
      return;
    }
    if (atCommandStart && !wordQuoted && /^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) r.assignments.push(word);
    else atCommandStart = false;
    r.argv.push(word);
    word = null;
    wordQuoted = false;
  };
  const add = (s: string) => {
    word = (word ?? "") + s;
  };
  const expansion = (kind: string) => {
    if (!r.expansions.includes(kind)) r.expansions.push(kind);
  };

  while (i < n && r.error === null) {
    const c = input[i]!;
    if (BLANK.has(c)) {
      endWord();
      i++;
      continue;
    }
    if (c === "\\") {
      // XCU 2.2.1: a backslash-newline is removed; otherwise the next character is literal.
      if (i + 1 >= n) {
        add("\\");
        i++;
      } else if (input[i + 1] === "\n") i += 2;
      else {
        add(input[i + 1]!);
        wordQuoted = true;
        i += 2;
      }
      continue;
    }
    if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) {
        r.error = "unterminated single quote";
        break;
      }
      add(input.slice(i + 1, end));
      wordQuoted = true;
      i = end + 1;
      continue;
    }
    if (c === '"') {
      const end = readDoubleQuoted(input, i + 1, r);
      if (end < 0) break;
      add(unescapeDouble(input.slice(i + 1, end)));
      if (word === null) word = "";
      wordQuoted = true;
      i = end + 1;
      continue;
    }
    if (c === "$" || c === "`") {
      const end = readSubstitution(input, i, r);
      if (end < 0) break;
      if (end === i + 1) {
        add("$"); // A lone `$` (before a blank or the end) is literal.
      } else {
        r.substitutions.push(input.slice(i, end));
        add(input.slice(i, end));
      }
      i = end;
      continue;
    }
    if (c === "#" && word === null) {
      // XCU 2.3 rule 10: `#` at the start of a word begins a comment.
      r.comment = true;
      const nl = input.indexOf("\n", i);
      i = nl < 0 ? n : nl;
      continue;
    }
    if (OPERATOR_START.has(c)) {
      // An IO number: a word of digits right before `<` or `>` (XCU 2.10.1).
      let io = "";
      if ((c === "<" || c === ">") && word !== null && !wordQuoted && /^[0-9]+$/.test(word)) {
        io = word;
        word = null;
      }
      endWord();
      const op = readOperator(input, i);
      i += op.length;
      if (op === "<(" || op === ">(") {
        // Process substitution (bash): runs a command, read as both.
        const end = matchParen(input, i);
        if (end < 0) {
          r.error = "unterminated process substitution";
          break;
        }
        r.redirections.push(op);
        r.substitutions.push(input.slice(i - 2, end + 1));
        i = end + 1;
        continue;
      }
      if (op.startsWith("<") || op.startsWith(">") || op === "&>" || op === "&>>") {
        r.redirections.push(io + op);
        redirectTarget = true;
      } else {
        r.operators.push(op === "\n" ? "newline" : op);
        atCommandStart = true;
      }
      continue;
    }
    if (c === "~" && word === null) expansion("tilde");
    if (GLOB.has(c)) expansion("glob");
    if (c === "{" && braceExpands(input, i)) expansion("brace");
    add(c);
    i++;
  }
  if (r.error === null) endWord();
  r.simple =
    r.error === null &&
    !r.comment &&
    r.operators.length === 0 &&
    r.redirections.length === 0 &&
    r.substitutions.length === 0 &&
    r.expansions.length === 0 &&
    r.assignments.length === 0;
  return r;
}

/** Longest operator at i (XCU 2.10.2 operators plus bash's `&>`, `&>>`, `|&`, `<<<`, `<(`, `>(`). */
function readOperator(s: string, i: number): string {
  for (const op of [
    "<<<",
    "<<-",
    "&>>",
    "&&",
    "||",
    ";;",
    "|&",
    "<<",
    ">>",
    "<&",
    ">&",
    "<>",
    ">|",
    "&>",
    "<(",
    ">(",
  ]) {
    if (s.startsWith(op, i)) return op;
  }
  return s[i]!;
}

/** Index of the closing `"` for a double-quoted string starting at i, reporting substitutions inside. */
function readDoubleQuoted(s: string, i: number, r: ShellWords): number {
  while (i < s.length) {
    const c = s[i]!;
    if (c === "\\") i += 2;
    else if (c === '"') return i;
    else if (c === "$" || c === "`") {
      const end = readSubstitution(s, i, r);
      if (end < 0) return -1;
      if (end > i + 1) r.substitutions.push(s.slice(i, end));
      i = end;
    } else i++;
  }
  r.error = "unterminated double quote";
  return -1;
}

/** Inside double quotes, a backslash escapes only $ ` " \ and newline (XCU 2.2.3). */
function unescapeDouble(body: string): string {
  return body.replace(/\\([$`"\\\n])/g, (_m, ch: string) => (ch === "\n" ? "" : ch));
}

/** End (exclusive) of the substitution at i (`$…` or a backquote), i+1 for a literal `$`; -1 on error. */
function readSubstitution(s: string, i: number, r: ShellWords): number {
  if (s[i] === "`") {
    let j = i + 1;
    while (j < s.length && s[j] !== "`") j += s[j] === "\\" ? 2 : 1;
    if (j >= s.length) {
      r.error = "unterminated backquote";
      return -1;
    }
    return j + 1;
  }
  const next = s[i + 1];
  if (next === "(") {
    const end = matchParen(s, i + 2);
    if (end < 0) {
      r.error = "unterminated command substitution";
      return -1;
    }
    return end + 1;
  }
  if (next === "{") {
    const end = s.indexOf("}", i + 2);
    if (end < 0) {
      r.error = "unterminated parameter expansion";
      return -1;
    }
    return end + 1;
  }
  if (next === "'") {
    // bash ANSI-C quoting: escapes decoded by the shell, so argv is not what is written.
    let j = i + 2;
    while (j < s.length && s[j] !== "'") j += s[j] === "\\" ? 2 : 1;
    if (j >= s.length) {
      r.error = "unterminated $'…' quote";
      return -1;
    }
    return j + 1;
  }
  if (next === '"') return i + 1; // bash locale quoting `$"…"`: the quote itself is read next, `$` reported.
  if (next !== undefined && /[A-Za-z_]/.test(next)) {
    let j = i + 2;
    while (j < s.length && /[A-Za-z0-9_]/.test(s[j]!)) j++;
    return j;
  }
  // Special parameters (XCU 2.5.2) and positional ones.
  if (next !== undefined && /[0-9@*#?$!-]/.test(next)) return i + 2;
  return i + 1;
}

/** Index of the `)` closing a `(` just before i, counting nesting and skipping quotes; -1 when none. */
function matchParen(s: string, i: number): number {
  let depth = 1;
  while (i < s.length) {
    const c = s[i]!;
    if (c === "\\") i += 2;
    else if (c === "'") {
      const e = s.indexOf("'", i + 1);
      if (e < 0) return -1;
      i = e + 1;
    } else if (c === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') j += s[j] === "\\" ? 2 : 1;
      if (j >= s.length) return -1;
      i = j + 1;
    } else {
      if (c === "(") depth++;
      else if (c === ")" && --depth === 0) return i;
      i++;
    }
  }
  return -1;
}

/** bash brace expansion: an unquoted `{` with a `,` or `..` before its matching `}`. */
function braceExpands(s: string, i: number): boolean {
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    const c = s[j]!;
    if (c === "\\") j++;
    else if (c === "{") depth++;
    else if (c === "}") {
      if (--depth === 0) return false;
    } else if (depth === 1 && (c === "," || (c === "." && s[j + 1] === "."))) return true;
    else if (BLANK.has(c) || c === "\n") return false;
  }
  return false;
}
