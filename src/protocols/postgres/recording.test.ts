import { expect, test } from "bun:test";
import { pgRecording } from "../../../test/api/pg-recording-fixture.ts";
import type { Frame } from "../../core/frame.ts";
import { type ExpanderState, firstBatchToRead } from "../../core/recording-expander.ts";
import { expandRecording, pgStreamExpander } from "./recording.ts";

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

function run(batches: Frame[][]) {
  const x = pgStreamExpander();
  const states: ExpanderState[] = [];
  const outs: Frame[][] = [];
  batches.forEach((frames, b) => {
    states.push(x.state());
    outs.push(x.push(b, frames));
  });
  return { states, outs };
}

test("batch by batch gives exactly expandRecording's frames, splits and malformed messages included", () => {
  for (const seed of SEEDS) {
    const batches = pgRecording(seed, { exchanges: 60, malformed: seed % 2 === 0 });
    const whole = expandRecording(batches.flat());
    const { outs, states } = run(batches);
    expect(outs.flat()).toEqual(whole);
    // The fixture does split messages across batches, and does hit the error paths.
    expect(states.some((s) => s.server !== undefined)).toBe(true);
    if (seed % 2 === 0) expect(whole.some((f) => f.kind === "Undecodable")).toBe(true);
  }
});

test("resumed at any batch boundary from its state, an expander gives the same frames from there on", () => {
  for (const seed of SEEDS.slice(0, 4)) {
    const batches = pgRecording(seed, { exchanges: 30, malformed: seed === 2 });
    const { outs, states } = run(batches);
    // Some open messages began batches before the boundary: resuming must read back that far.
    expect(states.some((s, b) => s.server !== undefined && s.server[0] < b - 1)).toBe(true);
    for (let b = 0; b < batches.length; b++) {
      const state = JSON.parse(JSON.stringify(states[b]));
      const x = pgStreamExpander(state);
      for (let p = firstBatchToRead(b, state); p < b; p++) x.restore(p, batches[p]!);
      const rest = batches.slice(b).flatMap((frames, i) => x.push(b + i, frames));
      expect(rest).toEqual(outs.slice(b).flat());
    }
  }
});

test("a state that does not fit the recording is refused, not decoded into garbage", () => {
  const batches = pgRecording(3, { exchanges: 30 });
  const { states } = run(batches);
  const b = states.findLastIndex((s) => s.server !== undefined);
  const mark = states[b]!.server!;
  const resume = (state: ExpanderState, from: number) => {
    const x = pgStreamExpander(state);
    for (let p = from; p < b; p++) x.restore(p, batches[p]!);
    return x.push(b, batches[b]!);
  };
  // Marked at an earlier message start: that message completes before the resume point.
  const earlier = states.slice(0, b).findLast((s) => s.server && s.server.join() !== mark.join());
  expect(earlier).toBeDefined();
  expect(() => resume({ server: earlier!.server }, earlier!.server![0])).toThrow(
    "cursor does not fit the recording",
  );
  // A mark the restored batches never reach, and a mark past its frame's bytes.
  expect(() => resume({ server: [b + 5, 0, 0] }, b)).toThrow("mark was never reached");
  expect(() => resume({ server: [mark[0], mark[1], 1e9] }, mark[0])).toThrow("points past its frame");
});
