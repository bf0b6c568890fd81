import { describe, expect, test } from "bun:test";
import type { Decision, RecordMode } from "../../core/decision.ts";
import { type DurableWait, durableWait, type TransactionView } from "./durability.ts";
import type { Tracked } from "./tracked.ts";

const IDLE: TransactionView = { transactionStatus: "I", statusChangesInFlight: 0 };
const IN_TX: TransactionView = { transactionStatus: "T", statusChangesInFlight: 0 };
const IN_TX_MOVING: TransactionView = { transactionStatus: "T", statusChangesInFlight: 1 };
const FAILED_TX: TransactionView = { transactionStatus: "E", statusChangesInFlight: 0 };

function tracked(opts: {
  record: RecordMode;
  keyword?: string;
  kinds?: string[];
  transactional?: boolean;
  vettedCalls?: boolean;
  runsObject?: boolean;
}): Tracked {
  const decision: Decision = {
    action: "allow",
    reason: "test",
    rule: "test",
    record: opts.record,
    mask: [],
    ...(opts.kinds ? { statements: opts.kinds.map((kind) => ({ kind, fingerprint: kind })) } : {}),
    ...(opts.transactional ? { transactional: true as const } : {}),
    ...((opts.vettedCalls ?? opts.transactional) ? { vettedCalls: true as const } : {}),
  };
  const t: Tracked = {
    command: { protocol: "postgres", text: "", keyword: opts.keyword },
    decision,
    start: 0,
  };
  if (opts.runsObject) t.runsObject = true;
  return t;
}

// The decider's proof that the statement commits only with its transaction (src/sql/transactional.ts).
const insert = { keyword: "insert", kinds: ["insert"], transactional: true };
const update = { keyword: "update", kinds: ["update"], transactional: true };
/** An INSERT that calls a function off the vetted list (nextval, dblink_exec): no proof. */
const insertCalling = { keyword: "insert", kinds: ["insert"] };
const IDLE_MOVING: TransactionView = { transactionStatus: "I", statusChangesInFlight: 2 };
const commit = { keyword: "commit", kinds: ["transaction"] };

describe("durableWait", () => {
  const cases: [string, Tracked, TransactionView, boolean, DurableWait][] = [
    [
      "sync write of an unclassified text outside a transaction waits",
      tracked({ record: "sync", keyword: "update" }),
      IDLE,
      false,
      "wait",
    ],
    [
      "sync DDL outside a transaction waits (may not run in a block, or commit itself)",
      tracked({ record: "sync", keyword: "create", kinds: ["create"] }),
      IDLE,
      false,
      "wait",
    ],
    [
      "sync VACUUM-like 'other' outside a transaction waits",
      tracked({ record: "sync", keyword: "vacuum", kinds: ["other"] }),
      IDLE,
      false,
      "wait",
    ],
    [
      "sync CALL outside a transaction waits (a procedure may COMMIT)",
      tracked({ record: "sync", keyword: "call", kinds: ["call"] }),
      IDLE,
      false,
      "wait",
    ],
    [
      "sync DO outside a transaction waits",
      tracked({ record: "sync", keyword: "do", kinds: ["do"] }),
      IDLE,
      false,
      "wait",
    ],
    [
      "sync DML statement list waits",
      tracked({ record: "sync", keyword: "insert", kinds: ["insert", "insert"] }),
      IDLE,
      false,
      "wait",
    ],
    ["sync write inside a transaction defers", tracked({ record: "sync", ...update }), IN_TX, false, "defer"],
    [
      "sync DDL without calls inside a transaction defers",
      tracked({ record: "sync", keyword: "create", kinds: ["create"], vettedCalls: true }),
      IN_TX,
      false,
      "defer",
    ],
    [
      "sync SELECT nextval / pg_advisory_lock inside a transaction waits (not undone by a rollback)",
      tracked({ record: "sync", keyword: "select", kinds: ["select"] }),
      IN_TX,
      false,
      "wait",
    ],
    [
      "sync INSERT calling a function off the list inside a transaction waits",
      tracked({ record: "sync", ...insertCalling }),
      IN_TX,
      false,
      "wait",
    ],
    [
      "sync write in a failed transaction defers",
      tracked({ record: "sync", ...update }),
      FAILED_TX,
      false,
      "defer",
    ],
    [
      "sync write while the status may still change waits",
      tracked({ record: "sync", ...update }),
      IN_TX_MOVING,
      false,
      "wait",
    ],
    ["sync COMMIT inside a transaction waits", tracked({ record: "sync", ...commit }), IN_TX, true, "wait"],
    [
      "sync END waits",
      tracked({ record: "sync", keyword: "end", kinds: ["transaction"] }),
      IN_TX,
      false,
      "wait",
    ],
    [
      "sync PREPARE TRANSACTION waits",
      tracked({ record: "sync", keyword: "prepare", kinds: ["transaction"] }),
      IN_TX,
      false,
      "wait",
    ],
    ["sync unclassified text waits", tracked({ record: "sync", keyword: "update" }), IN_TX, false, "wait"],
    [
      "sync statement list waits",
      tracked({ record: "sync", keyword: "update", kinds: ["update", "update"] }),
      IN_TX,
      false,
      "wait",
    ],
    [
      "buffered read with nothing deferred goes now",
      tracked({ record: "buffered", keyword: "select", kinds: ["select"] }),
      IN_TX,
      false,
      "none",
    ],
    [
      "buffered read with writes deferred goes now",
      tracked({ record: "buffered", keyword: "select", kinds: ["select"] }),
      IN_TX,
      true,
      "none",
    ],
    [
      "buffered COMMIT with writes deferred waits",
      tracked({ record: "buffered", ...commit }),
      IN_TX,
      true,
      "wait",
    ],
    [
      "buffered COMMIT with nothing deferred goes now",
      tracked({ record: "buffered", ...commit }),
      IN_TX,
      false,
      "none",
    ],
    [
      "buffered ROLLBACK-like transaction statement with writes deferred waits",
      tracked({ record: "buffered", keyword: "rollback", kinds: ["transaction"] }),
      IN_TX,
      true,
      "wait",
    ],
    [
      "buffered 'other' statement with writes deferred waits",
      tracked({ record: "buffered", keyword: "do", kinds: ["other"] }),
      IN_TX,
      true,
      "wait",
    ],
    [
      "buffered unclassified text with writes deferred waits",
      tracked({ record: "buffered", keyword: "select" }),
      IN_TX,
      true,
      "wait",
    ],
    [
      "buffered statement list with writes deferred waits",
      tracked({ record: "buffered", keyword: "select", kinds: ["select", "select"] }),
      IN_TX,
      true,
      "wait",
    ],
  ];
  for (const [name, t, tx, deferredOpen, want] of cases) {
    test(name, () => expect(durableWait(t, tx, deferredOpen)).toBe(want));
  }
});

describe("durableWait: the write runs, its commit waits", () => {
  const cases: [string, Tracked, TransactionView, "query" | "execute" | "function", DurableWait][] = [
    [
      "simple autocommit INSERT runs in the gateway's transaction",
      tracked({ record: "sync", ...insert }),
      IDLE,
      "query",
      "in-transaction",
    ],
    [
      "simple autocommit UPDATE runs in the gateway's transaction",
      tracked({ record: "sync", ...update }),
      IDLE,
      "query",
      "in-transaction",
    ],
    [
      "simple write while the status may change waits",
      tracked({ record: "sync", ...insert }),
      IDLE_MOVING,
      "query",
      "wait",
    ],
    [
      "extended Execute of an INSERT runs; its Sync waits",
      tracked({ record: "sync", ...insert }),
      IDLE,
      "execute",
      "at-sync",
    ],
    [
      "pipelined Execute (status moving) runs; its Sync waits",
      tracked({ record: "sync", ...insert }),
      IDLE_MOVING,
      "execute",
      "at-sync",
    ],
    [
      "Execute inside a known transaction defers to COMMIT",
      tracked({ record: "sync", ...insert }),
      IN_TX,
      "execute",
      "defer",
    ],
    [
      "Execute of DDL waits",
      tracked({ record: "sync", keyword: "create", kinds: ["create"] }),
      IDLE,
      "execute",
      "wait",
    ],
    ["Execute of COMMIT waits", tracked({ record: "sync", ...commit }), IN_TX, "execute", "wait"],
    [
      "Execute of an unclassified text waits",
      tracked({ record: "sync", keyword: "insert" }),
      IDLE,
      "execute",
      "wait",
    ],
    ["a fast-path function call waits", tracked({ record: "sync", ...insert }), IDLE, "function", "wait"],
    [
      "simple INSERT calling a function off the list waits",
      tracked({ record: "sync", ...insertCalling }),
      IDLE,
      "query",
      "wait",
    ],
    [
      "Execute of an INSERT calling a function off the list waits",
      tracked({ record: "sync", ...insertCalling }),
      IDLE,
      "execute",
      "wait",
    ],
    [
      "EXECUTE of a prepared INSERT (a session object) waits",
      tracked({ record: "sync", ...insert, runsObject: true }),
      IDLE,
      "query",
      "wait",
    ],
    [
      "a buffered read goes now",
      tracked({ record: "buffered", keyword: "select", kinds: ["select"] }),
      IDLE,
      "execute",
      "none",
    ],
  ];
  for (const [name, t, tx, via, want] of cases) {
    test(name, () => expect(durableWait(t, tx, false, via)).toBe(want));
  }
});
