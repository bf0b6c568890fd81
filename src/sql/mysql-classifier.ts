// SQL classification for MySQL and MariaDB: the gateway's own lexer (mysql-lexer.ts) splits and checks
// the text the way the server lexes it, node-sql-parser's MariaDB grammar parses each statement, and the
// walk (mysql-walk.ts) produces the same SqlStatement shape as the PostgreSQL classifier, so the default
// pack's rules apply to both dialects. SET, SHOW and a few other statements are read from the tokens
// (the grammar library lacks them or reads them loosely). Whatever cannot be classified is an error, and
// the decider refuses it (fail closed).
import { Parser } from "node-sql-parser";
import { deepFreeze } from "./deep-freeze.ts";
import { Lru } from "./lru.ts";
import { lexMysql, type MysqlPiece } from "./mysql-lexer.ts";
import { classifySetStatement, classifyTokenStatement } from "./mysql-tokens.ts";
import { describeMysqlAst } from "./mysql-walk.ts";
import type { SqlClassification, SqlStatement } from "./types.ts";

const parser = new Parser();
const DIALECT = { database: "MariaDB" };

const EMPTY: SqlClassification = Object.freeze({
  statements: Object.freeze([]) as unknown as SqlStatement[],
  shape: "",
});

function refuse(text: string, error: string, position?: number): SqlClassification {
  return {
    statements: [],
    error,
    ...(position !== undefined ? { errorPosition: position } : {}),
    shape: text,
  };
}

function fingerprint(shape: string): string {
  return new Bun.CryptoHasher("sha1").update(shape).digest("hex").slice(0, 16);
}

/** One statement, or an error message (parity problems carry the setting). */
function classifyPiece(
  piece: MysqlPiece,
): SqlStatement | { error: string; parity?: { setting: string; value: string } } {
  const first = piece.tokens[0]!;
  if (first.kind === "word" && first.text === "set") return classifySetStatement(piece);
  const byTokens = classifyTokenStatement(piece);
  if (byTokens) return byTokens;
  let ast: unknown;
  try {
    ast = parser.astify(piece.text, DIALECT);
  } catch (err) {
    return { error: err instanceof Error ? err.message.split("\n")[0]! : String(err) };
  }
  const list = Array.isArray(ast) ? ast : [ast];
  // The gateway's lexer split the text; a grammar that sees more than one statement in a piece disagrees.
  if (list.length !== 1) return { error: "the statement splits differently under the grammar; refused" };
  const described = describeMysqlAst(list[0] as Record<string, unknown>, piece);
  if ("error" in described) return described;
  return { ...described, locks: [...described.locks, ...lockingClauses(piece)] };
}

/** `FOR UPDATE`, `FOR SHARE`, `LOCK IN SHARE MODE`, read from the tokens (the grammar drops some). */
function lockingClauses(piece: MysqlPiece): string[] {
  const t = piece.tokens;
  const out: string[] = [];
  for (let i = 0; i + 1 < t.length; i++) {
    if (t[i]!.kind !== "word" || t[i + 1]!.kind !== "word") continue;
    const a = t[i]!.text;
    const b = t[i + 1]!.text;
    if (a === "for" && (b === "update" || b === "share")) out.push(b);
    if (a === "lock" && b === "in") out.push("share");
  }
  return out;
}

export interface MysqlClassifier {
  classify(text: string): SqlClassification;
}

export function createMysqlClassifier(
  options: { maxEntries?: number; maxCachedLength?: number } = {},
): MysqlClassifier {
  const byText = new Lru<string, SqlClassification>(options.maxEntries ?? 4096);
  const maxLength = options.maxCachedLength ?? 64 * 1024;
  const uncached = (text: string): SqlClassification => {
    const lexed = lexMysql(text);
    if (!lexed.ok) return refuse(text, lexed.error, lexed.position);
    if (lexed.pieces.length === 0) return EMPTY;
    const statements: SqlStatement[] = [];
    for (const piece of lexed.pieces) {
      const s = classifyPiece(piece);
      if ("error" in s) {
        return { ...refuse(text, s.error), ...(s.parity ? { parity: s.parity } : {}) };
      }
      statements.push({ ...s, fingerprint: fingerprint(piece.shape) });
    }
    const result: SqlClassification = { statements, shape: lexed.pieces.map((p) => p.shape).join(" ; ") };
    deepFreeze(result);
    return result;
  };
  return {
    classify(text) {
      if (text.length > maxLength) return uncached(text);
      const hit = byText.get(text);
      if (hit) return hit;
      const result = uncached(text);
      byText.set(text, result);
      return result;
    },
  };
}
