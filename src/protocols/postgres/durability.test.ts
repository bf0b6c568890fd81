import { describe, expect, test } from "bun:test";
import type { Decision, RecordMode } from "../../core/decision.ts";
import { type DurableWait, durableWait, type TransactionView } from "./durability.ts";
import type { Tracked } from "./tracked.ts";

const IDLE: TransactionView = { transactionStatus: "I", statusChangesInFlight: 0 };
const IN_TX: TransactionView = { transactionStatus: "T", statusChangesInFlight: 0 };
const IN_TX_MOVING: TransactionView = { transactionStatus: "T", statusChangesInFlight: 1 };
const FAILED_TX: TransactionView = { transactionStatus: "E", statusChangesInFlight: 0 };

function tracked(opts: { record: RecordMode; keyword?: string; kinds?: string[] }): Tracked {
  const decision: Decision = {
    action: "allow",
    reason: "test",
    rule: "test",
    record: opts.record,
    mask: [],
    ...(opts.kinds ? { statements: opts.kinds.map((kind) => ({ kind, fingerprint: kind })) } : {}),
  };
  return { command: { protocol: "postgres", text: "", keyword: opts.keyword }, decision, start: 0 };
}

const update = { keyword: "update", kinds: ["update"] };
const commit = { keyword: "commit", kinds: ["transaction"] };

describe("durableWait", () => {
  const cases: [string, Tracked, TransactionView, boolean, DurableWait][] = [
    ["sync write outside a transaction waits", tracked({ record: "sync", ...update }), IDLE, false, "wait"],
    ["sync write inside a transaction defers", tracked({ record: "sync", ...update }), IN_TX, false, "defer"],
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
