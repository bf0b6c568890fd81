// Turns a command into a Decision: classify (SQL), build the policy input, evaluate, cache. A repeated
// statement shape from the same identity on the same connection under the same bundle is one map lookup
// and returns synchronously. Every failure on the way is a deny (fail closed).

import { createHash } from "node:crypto";
import type { Command } from "../core/command.ts";
import { type Decision, deny } from "../core/decision.ts";
import type { Logger } from "../core/log.ts";
import { Lru } from "../sql/lru.ts";
import { callsOnlyVettedFunctions, commitsWithTransaction } from "../sql/transactional.ts";
import type { SqlClassification } from "../sql/types.ts";
import type { PolicyEngine } from "./engine.ts";
import { buildPolicyInput, type DecisionContext, type TableLabels } from "./input.ts";

export const UNPARSEABLE = "custos.unparseable";
export const DECIDER_ERROR = "custos.decider_error";
/** A statement that would change how the server lexes SQL (src/sql/parser-settings.ts), for everyone. */
export const PARSER_SETTING = "custos.parser_setting";

export interface DeciderOptions {
  engine: PolicyEngine;
  /** The PostgreSQL classifier (src/sql/classifier.ts), for `sqlProtocols`; synchronous. */
  classify: (text: string) => SqlClassification;
  /**
   * Classifiers of other SQL dialects by protocol (MySQL: src/sql/mysql-classifier.ts), each producing the
   * same statement shape, so one pack decides both; synchronous.
   */
  classifiers?: Readonly<Record<string, (text: string) => SqlClassification>>;
  /** The hint a dialect's syntax refusal carries; PostgreSQL's is PARSER_HINT. */
  parserHints?: Readonly<Record<string, string>>;
  /** Table labels for a connection name (`connections[].table_labels`). */
  tableLabels?: (connection: string) => TableLabels | undefined;
  /** Approver groups for a connection name (`connections[].approvers`); reviews need someone to decide. */
  approvers?: (connection: string) => readonly string[] | undefined;
  logger: Logger;
  /** Protocols whose command text is SQL. Default: postgres, postgresql. */
  sqlProtocols?: readonly string[];
  /** Cached decisions kept. Default 16384. */
  maxEntries?: number;
  now?: () => number;
  /**
   * Each evaluation (not each cache hit): the input's JSON as evaluated, its SHA-256 and the bundle. The
   * gateway records it (policy.input) so a logged decision can be explained later.
   */
  onEvaluated?: (evaluated: EvaluatedInput) => void;
}

export interface EvaluatedInput {
  digest: string;
  json: string;
  bundle: string | null;
  sessionId: string;
}

export interface Decider {
  decide(ctx: DecisionContext, command: Command): Decision | Promise<Decision>;
  /** Drops cached decisions (config labels changed); bundle swaps do this on their own. */
  invalidate(): void;
}

/**
 * Everything besides the statement shape that the cache key covers. Time, session and literal values are
 * not in it: the bundle's analysis (volatility.ts) adds the hour or the session to the key, or turns the
 * cache off, when its rules read them; a policy may also return `cache: false`.
 */
function contextKey(ctx: DecisionContext): string {
  const { identity, connection } = ctx;
  return JSON.stringify([
    identity.issuer,
    identity.subject,
    identity.kind,
    [...identity.groups].sort(),
    connection.name,
    connection.type,
    [...connection.labels].sort(),
  ]);
}

const PER_CONTEXT_ENTRIES = 1024;

const sha256Hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const HOUR_MS = 3_600_000;

/** The gateway's parser (libpg-query) may be of another PostgreSQL release than the server. */
export const PARSER_HINT =
  "The gateway's SQL parser (PostgreSQL 18 grammar) rejected this statement before it reached the server; nothing ran. If the server accepts it, the gateway's grammar lags the server's: report it.";

function syntaxError(
  message: string,
  position: number | undefined,
  hint: string = PARSER_HINT,
): NonNullable<Decision["error"]> {
  return {
    sqlstate: "42601", // syntax_error
    message,
    ...(position !== undefined ? { position } : {}),
    hint,
  };
}

export function createDecider(options: DeciderOptions): Decider {
  const { engine, classify, logger } = options;
  // One classifier per SQL protocol: a map lookup on the hot path, as the set test it replaces.
  const classifiers = new Map<string, (text: string) => SqlClassification>();
  for (const p of options.sqlProtocols ?? ["postgres", "postgresql"]) classifiers.set(p, classify);
  for (const [p, c] of Object.entries(options.classifiers ?? {})) classifiers.set(p, c);
  const now = options.now ?? Date.now;
  const cache = new Lru<string, Decision>(options.maxEntries ?? 16384);
  // Each distinct context key gets a short number, so the per-statement cache key stays short to build
  // and to hash; sessions of the same identity on the same connection share it.
  const keys = new WeakMap<DecisionContext, number>();
  const contextIds = new Map<string, number>();
  let nextContextId = 0;
  // In front of the shared cache, each context (one per session) keeps the decisions it has seen keyed by
  // the classification object itself: the classifier hands out one frozen object per statement shape, so
  // a repeated shape is found by identity, without building and hashing a key string per statement.
  // Swaps and invalidate() move the epoch on, which empties them all.
  const byClassification = new WeakMap<
    DecisionContext,
    { epoch: number; hour: number; protocol: string; decisions: Map<SqlClassification, Decision> }
  >();
  let epoch = 0;
  engine.onSwap(() => {
    cache.clear();
    epoch++;
  });

  const decisionsOf = (
    ctx: DecisionContext,
    protocol: string,
    hour: number,
  ): Map<SqlClassification, Decision> | null => {
    let mine = byClassification.get(ctx);
    if (!mine || mine.epoch !== epoch || mine.hour !== hour) {
      mine = { epoch, hour, protocol, decisions: new Map() };
      byClassification.set(ctx, mine);
    }
    if (mine.protocol !== protocol) return null;
    // Bounded per session; a session with this many shapes just starts over.
    if (mine.decisions.size >= PER_CONTEXT_ENTRIES) mine.decisions.clear();
    return mine.decisions;
  };

  const keyOf = (ctx: DecisionContext): number => {
    let id = keys.get(ctx);
    if (id === undefined) {
      const key = contextKey(ctx);
      id = contextIds.get(key);
      if (id === undefined) {
        // Identities come and go: the index is bounded. Numbers are never reused, so a context keeps a number
        // no other context has; one whose key was forgotten just gets a new number (and cache misses).
        if (contextIds.size >= 65_536) contextIds.clear();
        id = nextContextId++;
        contextIds.set(key, id);
      }
      keys.set(ctx, id);
    }
    return id;
  };

  const decideNow = (ctx: DecisionContext, command: Command): Decision => {
    const bundle = engine.hash ?? undefined;
    // What the bundle's rules read beyond the key (volatility.ts): the hour and the session join the key;
    // anything finer turns the cache off for this bundle.
    const volatility = engine.volatility;
    const cacheable = volatility.uncacheable === null;
    // Read once when it is part of the key, so the decision and its key agree on the hour.
    const at = volatility.hourly ? now() : 0;
    const hour = volatility.hourly ? Math.floor(at / HOUR_MS) : 0;
    const classifyText = classifiers.get(command.protocol);
    const classification = classifyText ? classifyText(command.text) : undefined;
    const mine = classification && cacheable ? decisionsOf(ctx, command.protocol, hour) : null;
    const seen = mine?.get(classification!);
    if (seen) return seen;
    const shape = classification ? classification.shape : (command.shape ?? command.text);
    const session = volatility.perSession ? ctx.session.id : "";
    const cacheKey = `${bundle}\u0000${keyOf(ctx)}\u0000${session}\u0000${hour}\u0000${command.protocol}\u0000${shape}`;
    const hit = cacheable ? cache.get(cacheKey) : undefined;
    if (hit) {
      mine?.set(classification!, hit);
      return hit;
    }

    const statements = classification?.statements.map((s) => ({ fingerprint: s.fingerprint, kind: s.kind }));
    if (classification?.error !== undefined) {
      // The database would reject it anyway; nothing unparsed is forwarded. A parity refusal says why; a
      // syntax error reaches the client as the parser's 42601 with its position, so it can fix the statement.
      if (classification.parity)
        return {
          ...deny(classification.error, PARSER_SETTING),
          statements: [],
          ...(bundle ? { bundle } : {}),
        };
      return {
        ...deny("unparseable", UNPARSEABLE),
        error: syntaxError(
          classification.error,
          classification.errorPosition,
          options.parserHints?.[command.protocol],
        ),
        statements: [],
        ...(bundle ? { bundle } : {}),
      };
    }
    const input = buildPolicyInput(
      ctx,
      command,
      classification?.statements,
      options.tableLabels?.(ctx.connection.name),
      // At the resolution the rules read (volatility.ts exactTime): an identical statement is an identical input.
      volatility.exactTime ? now() : Math.floor((volatility.hourly ? at : now()) / HOUR_MS) * HOUR_MS,
      options.approvers?.(ctx.connection.name),
    );
    // Encoded once: the bytes evaluated are the bytes digested and recorded.
    const json = JSON.stringify(input);
    const bytes = new TextEncoder().encode(json);
    const { cache: policyCacheable, ...decided } = engine.evaluate(bytes.buffer as ArrayBuffer);
    const inputDigest = options.onEvaluated ? sha256Hex(bytes) : undefined;
    if (inputDigest)
      options.onEvaluated!({ digest: inputDigest, json, bundle: bundle ?? null, sessionId: ctx.session.id });
    const decision: Decision = Object.freeze({
      ...decided,
      mask: Object.freeze(decided.mask) as Decision["mask"],
      ...(statements ? { statements } : {}),
      ...(commitsWithTransaction(classification?.statements) ? { transactional: true as const } : {}),
      ...(callsOnlyVettedFunctions(classification?.statements) ? { vettedCalls: true as const } : {}),
      ...(bundle ? { bundle } : {}),
      ...(inputDigest ? { inputDigest } : {}),
    });
    // A decision made under a bundle that was swapped meanwhile is not cached under the old key.
    if (cacheable && policyCacheable && engine.hash === (bundle ?? null)) {
      cache.set(cacheKey, decision);
      mine?.set(classification!, decision);
    }
    return decision;
  };

  return {
    decide(ctx, command) {
      try {
        return decideNow(ctx, command);
      } catch (err) {
        logger.error("policy decision failed", {
          error: err instanceof Error ? err.message : String(err),
          session: ctx.session.id,
        });
        return deny("policy decision failed", DECIDER_ERROR);
      }
    },
    invalidate() {
      cache.clear();
      epoch++;
    },
  };
}
