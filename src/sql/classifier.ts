// SQL classification with the real PostgreSQL parser (libpg-query, WASM), cached per statement shape.
// Two levels: the exact text (a repeated string costs one lookup), then the literal-free normalized text
// (the same statement with other literals skips the parse and the tree walk). Parse errors are not cached
// by shape: a literal can make a statement unparseable.

import { fingerprintSync, loadModule, normalizeSync, parseSync } from "libpg-query";
import { deepFreeze } from "./deep-freeze.ts";
import { literalKey } from "./literal-key.ts";
import { Lru } from "./lru.ts";
import { checkParity } from "./parser-settings.ts";
import type { SqlClassification, SqlStatement } from "./types.ts";
import { describeStatement } from "./walk.ts";

export interface SqlClassifier {
  /** Synchronous once created; never throws (a parse failure is returned as `error`). */
  classify(text: string): SqlClassification;
}

export interface ClassifierOptions {
  /** Distinct texts and distinct shapes remembered (each). Default 4096. */
  maxEntries?: number;
  /** Texts longer than this are classified every time rather than cached. Default 64 KiB. */
  maxCachedLength?: number;
  /** Turn off the shape level (tests compare cached and uncached classifications). */
  shapeCache?: boolean;
}

let loading: Promise<void> | undefined;

/** Loads the parser's WASM module once per process (50–110 ms). */
export function loadSqlParser(): Promise<void> {
  loading ??= loadModule();
  return loading;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The parser's cursor (0-based) as PostgreSQL's 1-based ErrorResponse position, when it gave one. */
function errorPosition(err: unknown): number | undefined {
  const details = (err as { sqlDetails?: { cursorPosition?: unknown } } | null)?.sqlDetails;
  const cursor = details?.cursorPosition;
  return typeof cursor === "number" && Number.isInteger(cursor) && cursor >= 0 ? cursor + 1 : undefined;
}

/** A refused text with the parser's message and, when it points at one, the position. */
function failure(text: string, err: unknown, shape: string): SqlClassification {
  let position = errorPosition(err);
  if (position === undefined) {
    // normalize() reports no position; the parser does, for the same text.
    try {
      parseSync(text);
    } catch (parseErr) {
      position = errorPosition(parseErr);
    }
  }
  return {
    statements: [],
    error: message(err),
    ...(position !== undefined ? { errorPosition: position } : {}),
    shape,
  };
}

/** Whitespace only: PostgreSQL answers EmptyQueryResponse (the parser library refuses an empty string). */
const EMPTY: SqlClassification = Object.freeze({
  statements: Object.freeze([]) as unknown as SqlStatement[],
  shape: "",
});

/** Classifications whose decision depends on literal values (parser-settings.ts): never cached by shape. */
const literalSensitive = new WeakSet<SqlClassification>();

function parse(text: string, shape: string): SqlClassification {
  const tree = parseSync(text);
  const out: SqlStatement[] = [];
  let sensitive = false;
  for (const raw of tree.stmts ?? []) {
    const parity = checkParity(raw.stmt);
    sensitive ||= parity.literalSensitive;
    if (parity.problem) {
      // Refused whatever the policy says: what follows would be lexed differently by the server.
      // Its shape is the text itself, as for any literal-sensitive statement (below).
      const { setting, value, message } = parity.problem;
      return { statements: [], error: message, parity: { setting, value }, shape: text };
    }
    const start = raw.stmt_location ?? 0;
    const piece = raw.stmt_len ? text.slice(start, start + raw.stmt_len) : text.slice(start);
    out.push({ ...describeStatement(raw.stmt), fingerprint: fingerprintSync(piece) });
  }
  // The decider caches decisions by shape: where literals decide, the literals are part of the shape.
  const result: SqlClassification = { statements: out, shape: sensitive ? text : shape };
  if (sensitive) literalSensitive.add(result);
  return result;
}

export async function createSqlClassifier(options: ClassifierOptions = {}): Promise<SqlClassifier> {
  await loadSqlParser();
  const max = options.maxEntries ?? 4096;
  const maxLength = options.maxCachedLength ?? 64 * 1024;
  const useShapes = options.shapeCache ?? true;
  const byText = new Lru<string, SqlClassification>(max);
  const byShape = new Lru<string, SqlClassification>(max);

  const uncached = (text: string): SqlClassification => {
    if (/^[ \t\n\r\f\v]*$/.test(text)) return EMPTY; // the scanner's whitespace (scan.l), not Unicode's
    let shape: string;
    try {
      shape = normalizeSync(text);
    } catch (err) {
      return failure(text, err, text);
    }
    if (useShapes) {
      const known = byShape.get(shape);
      if (known) return known;
    }
    try {
      const result = parse(text, shape);
      deepFreeze(result);
      if (useShapes && result.error === undefined && !literalSensitive.has(result))
        byShape.set(shape, result);
      return result;
    } catch (err) {
      return failure(text, err, shape);
    }
  };

  // Between the two: the text with its literals replaced in JS (literal-key.ts), which spares a repeated
  // statement with new literals the parser's normalize call.
  const byLiteralKey = new Lru<string, SqlClassification>(max);

  return {
    classify(text) {
      if (text.length > maxLength) return uncached(text);
      // A text with a literal key is looked up by that key alone: statements repeated with new literals
      // (pgbench, drivers' simple protocol) would otherwise add one exact-text entry per execution, churning
      // a large map on every statement for entries that are rarely hit again.
      const key = useShapes ? literalKey(text) : null;
      if (key !== null) {
        const known = byLiteralKey.get(key) ?? byText.get(text);
        if (known) return known;
        const result = uncached(text);
        // A text the parser refused is remembered as that text: its key says nothing about other texts.
        if (result.error !== undefined || literalSensitive.has(result)) byText.set(text, result);
        else byLiteralKey.set(key, result);
        return result;
      }
      const hit = byText.get(text);
      if (hit) return hit;
      const result = uncached(text);
      byText.set(text, result);
      return result;
    },
  };
}
