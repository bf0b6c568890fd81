// What a bundle's rules read from the input besides the decision cache's key, found when the bundle is
// loaded by reading the Rego sources `opa build` puts in it. Decisions are cached per statement shape and
// context (identity, connection); a rule reading `input.time.hour` makes the hour part of the key, one
// reading the session makes the session part of it, and one reading anything else the key does not hold
// (the text with its literals, the exact time, the input as a whole) turns the cache off for that bundle.
// Found from the sources, not from flags kept by hand beside each rule: an author cannot forget one.

export interface Volatility {
  /** Why no decision of this bundle may be cached; null when caching is sound with the keys below. */
  uncacheable: string | null;
  /** The rules read the time only as `hour`/`weekday`: decisions are keyed by the UTC hour. */
  hourly: boolean;
  /** The rules read `input.session`: decisions are keyed by the session. */
  perSession: boolean;
  /**
   * The rules read the time finer than the hour (or the input as a whole): the input carries the exact
   * time. Otherwise it carries the start of the UTC hour, which no rule of the bundle can tell apart, so
   * a repeated statement is the same input (one policy.input event per session, not one per evaluation).
   */
  exactTime: boolean;
}

export const STABLE: Volatility = Object.freeze({
  uncacheable: null,
  hourly: false,
  perSession: false,
  exactTime: false,
});

/** One line for logs and `custos policy build`: how decisions of this bundle are cached. */
export function describeVolatility(v: Volatility): string {
  if (v.uncacheable) return `off (${v.uncacheable})`;
  const keys = [v.hourly ? "the UTC hour" : "", v.perSession ? "the session" : ""].filter(Boolean);
  return keys.length ? `on, keyed also by ${keys.join(" and ")}` : "on";
}

/** Input paths the cache key covers (see decider.ts contextKey and the statement shape). */
const COVERED_ROOTS = new Set(["identity", "connection"]);
/** Under `command`: everything but `text` is part of the shape (statements, protocol, HTTP fields). */
const UNCOVERED_COMMAND = new Set(["text"]);
const HOURLY_TIME = new Set(["hour", "weekday"]);

type Path = { keys: string[]; dynamic: boolean };

/** Analyses every Rego source of a bundle; a bundle without sources cannot be analysed: uncacheable. */
export function analyseSources(sources: ReadonlyMap<string, string>): Volatility {
  if (sources.size === 0) {
    return {
      uncacheable: "the bundle carries no Rego sources to analyse",
      hourly: false,
      perSession: false,
      exactTime: true,
    };
  }
  let hourly = false;
  let perSession = false;
  let exactTime = false;
  let uncacheable: string | null = null;
  // Every reference is read, also past the first uncacheable one: the time's resolution is wanted too.
  for (const [file, text] of sources) {
    for (const { path, line } of inputReferences(text)) {
      const verdict = classify(path);
      if (verdict === "hourly") hourly = true;
      else if (verdict === "session") perSession = true;
      else if (verdict !== "covered") uncacheable ??= `${file}:${line}: ${verdict}`;
      if (readsExactTime(path)) exactTime = true;
    }
  }
  return { uncacheable, hourly, perSession, exactTime };
}

/** A reference that may see the time finer than the hour: `input.time.unix_ms`, `input.time`, `input`. */
function readsExactTime({ keys }: Path): boolean {
  const [root, second] = keys;
  if (root === undefined) return true;
  return root === "time" && (second === undefined || !HOURLY_TIME.has(second));
}

function classify({ keys, dynamic }: Path): "covered" | "hourly" | "session" | string {
  const [root, second] = keys;
  const shown = `input${keys.map((k) => `.${k}`).join("")}${dynamic ? "[…]" : ""}`;
  if (root === undefined) return `reads ${shown} as a whole`;
  if (COVERED_ROOTS.has(root)) return "covered";
  if (root === "command") {
    if (second === undefined) return `reads ${shown} as a whole (its text holds literal values)`;
    return UNCOVERED_COMMAND.has(second) ? `reads ${shown} (literal values)` : "covered";
  }
  if (root === "time") {
    return second !== undefined && HOURLY_TIME.has(second) ? "hourly" : `reads ${shown} (finer than an hour)`;
  }
  if (root === "session") return "session";
  return `reads ${shown}, which the decision cache does not key on`;
}

/** Every reference to the input document in a Rego text, with the static keys that follow it. */
export function inputReferences(text: string): { path: Path; line: number }[] {
  const out: { path: Path; line: number }[] = [];
  const code = stripCommentsAndStrings(text);
  const re = /\binput\b/g;
  for (let m = re.exec(code.masked); m; m = re.exec(code.masked)) {
    const at = m.index;
    const before = code.masked.slice(0, at).trimEnd();
    // `x.input` is a field of something else, not the input document.
    if (before.endsWith(".")) continue;
    const line = code.masked.slice(0, at).split("\n").length;
    const after = at + "input".length;
    // object.get(input, "k") / object.get(input, ["a", "b"], d): the keys are the second argument.
    if (/object\.get\(\s*$/.test(before)) {
      out.push({ path: objectGetKeys(text, after), line });
      continue;
    }
    out.push({ path: refKeys(text, code.masked, after), line });
  }
  return out;
}

/** `.a["b"].c…` after a reference; stops at the first key that is not a constant. */
function refKeys(text: string, masked: string, start: number): Path {
  const keys: string[] = [];
  let i = start;
  for (;;) {
    if (masked[i] === ".") {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(masked.slice(i + 1));
      if (!m) return { keys, dynamic: true };
      keys.push(m[0]);
      i += 1 + m[0].length;
      continue;
    }
    if (masked[i] === "[") {
      const m = /^\[\s*("(?:[^"\\]|\\.)*")\s*\]/.exec(text.slice(i));
      if (!m) return { keys, dynamic: true };
      keys.push(JSON.parse(m[1]!) as string);
      i += m[0].length;
      continue;
    }
    return { keys, dynamic: false };
  }
}

function objectGetKeys(text: string, start: number): Path {
  const rest = text.slice(start);
  const one = /^\s*,\s*("(?:[^"\\]|\\.)*")/.exec(rest);
  if (one) return { keys: [JSON.parse(one[1]!) as string], dynamic: false };
  const list = /^\s*,\s*\[((?:\s*"(?:[^"\\]|\\.)*"\s*,?)*)\]/.exec(rest);
  if (list) {
    const keys = [...list[1]!.matchAll(/"(?:[^"\\]|\\.)*"/g)].map((k) => JSON.parse(k[0]) as string);
    return { keys, dynamic: false };
  }
  return { keys: [], dynamic: true };
}

/**
 * The text with comments and string contents replaced by spaces (same length, newlines kept), so a
 * search for `input` finds code only. Rego strings are "…" with escapes or `…` raw; comments start with #.
 */
function stripCommentsAndStrings(text: string): { masked: string } {
  const out = text.split("");
  let i = 0;
  const blank = (from: number, to: number) => {
    for (let j = from; j < to; j++) if (out[j] !== "\n") out[j] = " ";
  };
  while (i < text.length) {
    const c = text[i];
    if (c === "#") {
      const end = text.indexOf("\n", i);
      const stop = end === -1 ? text.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"' && text[j] !== "\n") j += text[j] === "\\" ? 2 : 1;
      blank(i + 1, j);
      i = j + 1;
    } else if (c === "`") {
      const end = text.indexOf("`", i + 1);
      const stop = end === -1 ? text.length : end;
      blank(i + 1, stop);
      i = stop + 1;
    } else i++;
  }
  return { masked: out.join("") };
}
