// What the bundle analysis makes of the ways a Rego source can read the input.
import { describe, expect, test } from "bun:test";
import { analyseSources, inputReferences } from "./volatility.ts";

const one = (rego: string) => analyseSources(new Map([["local/rules.rego", rego]]));

describe("bundle volatility", () => {
  test("rules reading only the cache key's inputs keep the cache", () => {
    const v = one(`package custos.local
deny contains {"rule": "r", "reason": "x"} if {
	input.identity.kind == "agent"
	some s in input.command.statements
	"regulated" in input.connection.labels
	x := object.get(input, ["command", "statements"], [])
	y := input["identity"]["groups"]
}`);
    expect(v).toEqual({ uncacheable: null, hourly: false, perSession: false, exactTime: false });
  });

  test("the hour or weekday keys decisions by the hour", () => {
    expect(one("package p\nx if input.time.hour >= 18\ny if input.time.weekday == 0").hourly).toBe(true);
    expect(one('package p\nx if input["time"]["hour"] > 1').hourly).toBe(true);
    expect(one("package p\nx if input.time.hour > 1").uncacheable).toBeNull();
  });

  test("the session keys decisions by session", () => {
    const v = one('package p\nx if input.session.application_name == "psql"');
    expect(v).toEqual({ uncacheable: null, hourly: false, perSession: true, exactTime: false });
  });

  test("anything finer or unknown turns the cache off, naming where", () => {
    const off = [
      "x if input.time.unix_ms > 1",
      'x if startswith(input.time.rfc3339, "2026")',
      "t := input.time",
      'x if contains(input.command.text, "secret")',
      "c := input.command",
      "i := input",
      "x if input[k]",
      "import input.time",
      "x if walk(input, [p, v])",
      'x if object.get(input, "time", {}).hour > 1',
      "x if object.get(input, k, 0)",
      "x if input.future_field",
    ];
    for (const rule of off) {
      const v = one(`package p\n${rule}`);
      expect(v.uncacheable, rule).toStartWith("local/rules.rego:2: ");
    }
  });

  test("comments, strings and fields named input are not references", () => {
    const text = `package p
# input.time.unix_ms in a comment
x := "input.time.unix_ms"
y := \`input.command.text\`
z if data.config.input.time == 1
`;
    expect(inputReferences(text)).toEqual([]);
    expect(one(text).uncacheable).toBeNull();
  });

  test("a bundle without sources cannot be analysed: uncacheable", () => {
    expect(analyseSources(new Map()).uncacheable).toContain("no Rego sources");
  });
});
