import { describe, expect, test } from "bun:test";
import { MaskingEngine } from "../../masking/engine.ts";
import { outputMaskers } from "./mask.ts";

const engine = new MaskingEngine({});
const RULES = [
  { detector: "ssn", method: "redact" as const },
  { detector: "card", method: "partial" as const },
  { column: "password", method: "redact" as const },
];
const enc = new TextEncoder();
const dec = new TextDecoder();

function through(text: string, size: number): string {
  const { stdout } = outputMaskers(engine, RULES, 1 << 20);
  const bytes = enc.encode(text);
  let out = "";
  for (let i = 0; i < bytes.length; i += size) out += dec.decode(stdout.push(bytes.subarray(i, i + size)));
  return out + dec.decode(stdout.end());
}

describe("exec output masking as a stream", () => {
  const text = "id 1 ssn 123-45-6789 card 4111 1111 1111 1111\npassword: hunter2 rest\nplain 123-456 line\n";
  test("values split at every packet size are caught; the rest passes unchanged", () => {
    const whole = through(text, 1 << 20);
    expect(whole).not.toContain("123-45-6789");
    expect(whole).not.toContain("4111 1111 1111 1111");
    expect(whole).not.toContain("hunter2");
    expect(whole).toContain("plain 123-456 line");
    for (const size of [1, 2, 3, 5, 7, 13, 64]) expect(through(text, size)).toBe(whole);
  });

  test("complete lines go out at once, before the stream ends", () => {
    const { stdout } = outputMaskers(engine, RULES, 1 << 20);
    expect(dec.decode(stdout.push(enc.encode("first line\nsecond")))).toBe("first line\n");
  });

  test("output without line breaks flows when it has word breaks; one endless word fails closed at the bound", () => {
    const { stdout } = outputMaskers(engine, RULES, 1 << 20);
    let out = 0;
    const chunk = enc.encode("word ".repeat(13 << 10));
    for (let i = 0; i < 20; i++) {
      out += stdout.push(chunk).length;
      expect((i + 1) * chunk.length - out).toBeLessThan(1024);
    }
    expect(out + stdout.end().length).toBe(20 * chunk.length);
    // A run that could still be a `key: value` name is held, up to the bound, then refused.
    const held = outputMaskers(engine, RULES, 64 << 10).stdout;
    expect(() => {
      for (let i = 0; i < 4; i++) held.push(enc.encode("a".repeat(32 << 10)));
    }).toThrow(/without a safe cut/);
  });
});
