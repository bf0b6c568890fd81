import { describe, expect, test } from "bun:test";
import { appendSize, batchLength } from "./recorder-batch.ts";
import type { AppendMessage } from "./recorder-protocol.ts";

/** An append with `events` events of 10 bytes each and one session's frames in parts of the given sizes. */
function append(id: number, events: number, parts: number[]): AppendMessage {
  return {
    op: "append",
    id,
    urgent: false,
    events: {
      bytes: new Uint8Array(events * 10),
      ends: Array.from({ length: events }, (_, i) => (i + 1) * 10),
      types: Array(events).fill("t"),
      times: Array(events).fill(0),
      sessions: Array(events).fill(null),
    },
    frames: parts.length
      ? [{ sessionId: "s", firstT: 0, count: parts.length, parts: parts.map((n) => new Uint8Array(n)) }]
      : [],
  };
}

describe("recorder batches", () => {
  test("an append's size counts its events, its frames and every part's bytes", () => {
    expect(appendSize(append(1, 3, [100, 2000]))).toEqual({ entries: 5, bytes: 30 + 2100 });
  });

  test("bounded by bytes: appends carrying large results are not all taken at once", () => {
    const queue = Array.from({ length: 10 }, (_, i) => append(i + 1, 1, [300_000]));
    // 1 MB of frames per batch: three appends of ~300 KB fit, the fourth would pass the bound.
    expect(batchLength(queue, { entries: 5_000, bytes: 1_000_000 })).toBe(3);
  });

  test("bounded by entries as before", () => {
    const queue = Array.from({ length: 10 }, (_, i) => append(i + 1, 1_000, []));
    expect(batchLength(queue, { entries: 5_000, bytes: 1 << 30 })).toBe(5);
  });

  test("an append larger than the bound is still taken, whole and alone", () => {
    const queue = [append(1, 1, [5_000_000]), append(2, 1, [10])];
    expect(batchLength(queue, { entries: 5_000, bytes: 1_000_000 })).toBe(1);
    expect(batchLength(queue.slice(1), { entries: 5_000, bytes: 1_000_000 })).toBe(1);
  });

  test("everything is taken when it fits, and nothing from an empty queue", () => {
    const queue = [append(1, 2, [100]), append(2, 2, []), append(3, 0, [50])];
    expect(batchLength(queue)).toBe(3);
    expect(batchLength([])).toBe(0);
  });
});
