// Which commands are held until their record is durable. The policy's `record` decides; the `audit.sync`
// setting can only add to it: `all` holds everything, `writes` holds every statement that is not known
// to be read-only. Read-only is judged by the parsed statements' kinds and function calls when the decision
// has them (a SELECT calling nextval, pg_advisory_lock, dblink_exec or a user function changes something
// before it returns: its record must be durable first, ENFORCEMENT.md §8), else by the first keyword, so
// anything unfamiliar counts as a write (the safe side).
import type { Command } from "../core/command.ts";
import type { RecordMode } from "../core/decision.ts";

const READ_ONLY = new Set([
  "select",
  "show",
  "values",
  "table",
  "fetch",
  "move",
  "begin",
  "start",
  "commit",
  "end",
  "rollback",
  "abort",
  "savepoint",
  "release",
  "set",
  "reset",
  "discard",
  "deallocate",
  "listen",
  "unlisten",
  "close",
  "declare",
]);

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/** First keyword of a statement, lower-cased, skipping white space, comments and opening parentheses. */
export function firstKeyword(text: string): string {
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 40 /* ( */) i++;
    else if (c === 45 && text.charCodeAt(i + 1) === 45) {
      const nl = text.indexOf("\n", i);
      i = nl === -1 ? n : nl + 1;
    } else if (c === 47 && text.charCodeAt(i + 1) === 42) {
      // Block comments nest in PostgreSQL.
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (text.charCodeAt(i) === 47 && text.charCodeAt(i + 1) === 42) {
          depth++;
          i += 2;
        } else if (text.charCodeAt(i) === 42 && text.charCodeAt(i + 1) === 47) {
          depth--;
          i += 2;
        } else i++;
      }
    } else break;
  }
  let j = i;
  while (j < n) {
    const c = text.charCodeAt(j) | 32;
    if (c < 97 || c > 122) break;
    j++;
  }
  return text.slice(i, j).toLowerCase();
}

/**
 * Statement kinds (src/sql/kinds.ts) that change nothing when they call only vetted functions
 * (`vettedCalls`, src/sql/transactional.ts); a SELECT with a writing CTE is the policy's call.
 */
const READ_KINDS = new Set(["select", "set", "transaction"]);

export function recordMode(
  setting: "writes" | "all" | "none",
  policy: RecordMode,
  command: Command,
  statements?: readonly { kind: string }[],
  vettedCalls = false,
): RecordMode {
  if (policy === "sync" || setting === "all") return "sync";
  if (setting === "none") return "buffered";
  // Classified by the parser: judge by statement kind, not by the first-keyword stand-in below (which
  // counts any `;`, as in pgbench's `SELECT …;`, as a possible write). A call off the vetted list may write.
  if (statements && statements.length > 0) {
    return vettedCalls && statements.every((s) => READ_KINDS.has(s.kind)) ? "buffered" : "sync";
  }
  // HTTP: the safe methods of RFC 9110 §9.2.1 are the reads; every other method may write.
  if (command.http) return SAFE_METHODS.has(command.http.method) ? "buffered" : "sync";
  // EXPLAIN is not on the list (EXPLAIN ANALYZE runs its statement); a statement list may hide a write
  // after a SELECT, so any semicolon counts too.
  const kw = command.keyword ?? firstKeyword(command.text);
  if (kw === "" && command.text.trim() === "") return "buffered";
  return READ_ONLY.has(kw) && !command.text.includes(";") ? "buffered" : "sync";
}
