import { describe, expect, test } from "bun:test";
import type { Frame } from "../core/frame.ts";
import { castFromFrames, encodeCast, parseCast, playCast } from "./asciicast.ts";

const enc = new TextEncoder();
const T0 = 1_700_000_000_000_000;
const frames: Frame[] = [
  { t: T0, dir: "client", kind: "ssh.command", data: { text: "shell" } },
  { t: T0, dir: "client", kind: "term.start", data: { cols: 100, rows: 30, term: "xterm-256color" } },
  { t: T0 + 100_000, dir: "server", kind: "term.out", data: { bytes: enc.encode("$ ") } },
  { t: T0 + 500_000, dir: "client", kind: "term.in", data: { bytes: enc.encode("ls\r") } },
  // "é" split across two frames.
  {
    t: T0 + 600_000,
    dir: "server",
    kind: "term.out",
    data: { bytes: enc.encode("caf\u00e9\r\n").subarray(0, 4) },
  },
  {
    t: T0 + 700_000,
    dir: "server",
    kind: "term.out",
    data: { bytes: enc.encode("caf\u00e9\r\n").subarray(4) },
  },
  { t: T0 + 800_000, dir: "client", kind: "term.resize", data: { cols: 120, rows: 40 } },
  { t: T0 + 900_000, dir: "server", kind: "term.err", data: { bytes: enc.encode("oops\r\n") } },
  { t: T0 + 950_000, dir: "server", kind: "sftp.transfer", data: { path: "/x" } },
  { t: T0 + 1_000_000, dir: "server", kind: "ssh.exit", data: { code: 0, signal: null } },
];

describe("asciicast v2", () => {
  test("frames become header and events with times, input, resize and markers", () => {
    const cast = castFromFrames(frames, "session s1")!;
    expect(cast.header).toEqual({
      version: 2,
      width: 100,
      height: 30,
      timestamp: 1_700_000_000,
      title: "session s1",
      env: { TERM: "xterm-256color" },
    });
    expect(cast.events).toEqual([
      [0, "m", "shell"],
      [0.1, "o", "$ "],
      [0.5, "i", "ls\r"],
      [0.6, "o", "caf"],
      [0.7, "o", "\u00e9\r\n"],
      [0.8, "r", "120x40"],
      [0.9, "o", "oops\r\n"],
      [1, "m", "exit 0"],
    ]);
    const text = encodeCast(cast);
    expect(text.split("\n")[1]).toBe('[0,"m","shell"]');
    expect(parseCast(text)).toEqual(cast);
  });

  test("a recording without terminal frames has no cast", () => {
    expect(castFromFrames([{ t: T0, dir: "client", kind: "Query", data: { text: "select 1" } }])).toBeNull();
  });

  test("play honours speed, idle cut and seek", async () => {
    const cast = castFromFrames(frames)!;
    const out: string[] = [];
    const sleeps: number[] = [];
    const opts = {
      write: (s: string) => void out.push(s),
      sleep: async (ms: number) => void sleeps.push(ms),
    };
    await playCast(cast, { ...opts, speed: 2, from: 0, maxIdle: 10 });
    expect(out.join("")).toBe("$ caf\u00e9\r\noops\r\n");
    expect(sleeps.map((s) => Math.round(s))).toEqual([50, 250, 50, 100]);
    out.length = 0;
    sleeps.length = 0;
    await playCast(cast, { ...opts, speed: 1, from: 0.65, maxIdle: 0.1 });
    // Output before the seek point is written at once; pauses are capped.
    expect(out).toEqual(["$ caf", "\u00e9\r\n", "oops\r\n"]);
    expect(sleeps.every((s) => s <= 100.0001)).toBe(true);
    parseCast(encodeCast(cast));
    expect(() => parseCast('{"version":1}\n')).toThrow();
  });
});
