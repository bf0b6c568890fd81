import { expect, test } from "bun:test";
import type { Frame } from "../../core/frame.ts";
import { toAsciicast } from "./asciicast.ts";

const enc = new TextEncoder();

test("an exec recording becomes asciicast v2: output, input, resize, exit marker, relative times", () => {
  const t0 = 1_795_000_000_000_000;
  const frames: Frame[] = [
    { t: t0 - 5, dir: "client", kind: "upgrade", data: { path: "/api/v1/namespaces/a/pods/p/exec" } },
    { t: t0, dir: "client", kind: "resize", data: { text: '{"Width":120,"Height":40}' } },
    { t: t0 + 500_000, dir: "client", kind: "stdin", data: { bytes: enc.encode("id\r") } },
    { t: t0 + 600_000, dir: "server", kind: "stdout", data: { bytes: enc.encode("uid=0(root)\r\n") } },
    { t: t0 + 700_000, dir: "server", kind: "stderr", data: { bytes: enc.encode("warn\r\n") } },
    { t: t0 + 2_000_000, dir: "server", kind: "status", data: { text: "{}", exit_code: 0 } },
  ];
  const lines = toAsciicast(frames, { title: "exec p" })
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(lines[0]).toMatchObject({ version: 2, width: 120, height: 40, title: "exec p" });
  expect(lines.slice(1)).toEqual([
    [0, "r", "120x40"],
    [0.5, "i", "id\r"],
    [0.6, "o", "uid=0(root)\r\n"],
    [0.7, "o", "warn\r\n"],
    [2, "m", "exit 0"],
  ]);
});
