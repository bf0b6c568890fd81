import { describe, expect, test } from "bun:test";
import { begin, end, replaceSection } from "./results-md.ts";

const others =
  "## Policy decisions\n\ntable A\n\n## Masking (microbenchmarks)\n\ntable B\n\n## HTTP gateway\n\ntable C\n";

describe("replaceSection", () => {
  test("appends the section with its markers when the file has none, keeping others' sections", () => {
    const out = replaceSection(others, "pgbench", "## Ours\n\nfigures 1");
    expect(out.startsWith(others.trimEnd())).toBe(true);
    expect(out).toContain(`${begin("pgbench")}\n## Ours\n\nfigures 1\n${end("pgbench")}\n`);
  });

  test("rewrites only between its own markers; text before and after stays byte for byte", () => {
    const once = replaceSection(others, "pgbench", "figures 1");
    const withTail = `${once}\n## Where the time goes\n\nhand-written\n`;
    const twice = replaceSection(withTail, "pgbench", "figures 2");
    expect(twice).toBe(withTail.replace("figures 1", "figures 2"));
    expect(twice).not.toContain("figures 1");
  });

  test("two sections are independent", () => {
    const a = replaceSection(replaceSection(others, "pgbench", "P1"), "micro", "M1");
    const b = replaceSection(a, "micro", "M2");
    expect(b).toContain("P1");
    expect(b).toContain("M2");
    expect(b).not.toContain("M1");
  });

  test("an empty file gets just the section", () => {
    expect(replaceSection("", "micro", "x")).toBe(`${begin("micro")}\nx\n${end("micro")}\n`);
  });

  test("refuses an unpaired, repeated or reversed marker instead of guessing what to cut", () => {
    expect(() => replaceSection(`${begin("pgbench")}\nx\n`, "pgbench", "y")).toThrow(/unpaired/);
    expect(() => replaceSection(`${end("pgbench")}\nx\n`, "pgbench", "y")).toThrow(/unpaired/);
    expect(() => replaceSection(`${end("pgbench")}\n${begin("pgbench")}\n`, "pgbench", "y")).toThrow(
      /out of order/,
    );
    const twice = `${begin("pgbench")}\na\n${end("pgbench")}\n${begin("pgbench")}\nb\n${end("pgbench")}\n`;
    expect(() => replaceSection(twice, "pgbench", "y")).toThrow(/repeated/);
  });
});
