import { expect, test } from "bun:test";
import { interleave } from "./stream-item.ts";

const ev = (seq: number) => ({ seq });
const cp = (size: number) => ({ size });
const shape = (xs: ({ event: { seq: number } } | { checkpoint: { size: number } })[]) =>
  xs.map((x) => ("event" in x ? `e${x.event.seq}` : `c${x.checkpoint.size}`));

test("a checkpoint follows the event that completed it", () => {
  const out = interleave({ nextSeq: 3, checkpointSize: 3 }, [ev(3), ev(4), ev(5)], [cp(5), cp(6)]);
  expect(shape(out)).toEqual(["e3", "e4", "c5", "e5", "c6"]);
});

test("a checkpoint over events delivered earlier (a checkpoint-only commit) comes first, once", () => {
  const out = interleave({ nextSeq: 6, checkpointSize: 3 }, [ev(6)], [cp(3), cp(6), cp(7)]);
  expect(shape(out)).toEqual(["c6", "e6", "c7"]);
});

test("checkpoints beyond the page wait for their events", () => {
  expect(shape(interleave({ nextSeq: 0, checkpointSize: 0 }, [ev(0)], [cp(1), cp(2)]))).toEqual(["e0", "c1"]);
  expect(shape(interleave({ nextSeq: 2, checkpointSize: 2 }, [], [cp(2)]))).toEqual([]);
});
