import { describe, expect, test } from "bun:test";
import type { MaskRule } from "../../core/decision.ts";
import { MaskingEngine } from "../../masking/engine.ts";
import { FieldPlans } from "../../masking/field-plans.ts";
import { jsonMasker } from "../../masking/json-mask.ts";
import { maskCsvStream, maskForm, maskSseStream, maskXml } from "../../masking/structured-mask.ts";
import { maskTextStream } from "../../masking/text-mask.ts";
import { scrubBytes, scrubberFor, scrubStream } from "./scrub.ts";

const engine = new MaskingEngine();
const RULES: MaskRule[] = [
  { column: "ssn", method: "partial" },
  { column: "email", method: "partial" },
  { column: "phone", method: "partial" },
  { detector: "*", method: "redact" },
];
const plans = () => new FieldPlans(engine, RULES, { rules: {}, detectors: {} });
const enc = new TextEncoder();

/** Runs `text` through `t` split into pieces of `size` bytes. */
async function through(
  t: TransformStream<Uint8Array, Uint8Array>,
  text: string,
  size: number,
): Promise<string> {
  const bytes = enc.encode(text);
  const src = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.length; i += size) c.enqueue(bytes.slice(i, i + size));
      c.close();
    },
  });
  return await new Response(src.pipeThrough(t)).text();
}

describe("text streams", () => {
  const text = `${"lorem ipsum ".repeat(40)}ssn 123-45-6789 and {"mobilePhone":"2125550199"} mail ada@example.com taxId=078051120 total 123456789 end`;

  test.each([1, 2, 3, 7, 64, 333, 5000])(
    "values split across %p-byte chunks are still caught",
    async (size) => {
      const out = await through(maskTextStream(plans(), 1 << 20), text, size);
      for (const v of ["123-45-6789", "2125550199", "ada@example.com", "078051120"])
        expect(out).not.toContain(v);
      expect(out).toContain("total 123456789 end");
      expect(out.startsWith("lorem ipsum ")).toBe(true);
    },
  );

  test("complete lines go out as they arrive, masked", async () => {
    const t = maskTextStream(plans(), 1 << 20);
    const writer = t.writable.getWriter();
    const reader = t.readable.getReader();
    void writer.write(enc.encode("first ssn 123-45-6789 done\nsecond 078-05-"));
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe("first ssn [REDACTED] done\n");
    void writer.write(enc.encode("1120 end\n"));
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("second [REDACTED] end\n");
    void writer.close();
  });

  test("a grouped number after a masked key is masked whole", async () => {
    const out = await through(maskTextStream(plans(), 1 << 20), "ssn: 123 45 6789, name: Ada\n", 3);
    expect(out).toBe("ssn: *** ** 6789, name: Ada\n");
  });

  test("the same bytes out whatever the chunking", async () => {
    const one = await through(maskTextStream(plans(), 1 << 20), text, 1 << 20);
    expect(await through(maskTextStream(plans(), 1 << 20), text, 5)).toBe(one);
  });
});

describe("structured bodies", () => {
  test("CSV by header name, quoted fields with separators and newlines", async () => {
    const csv = 'name,customer_ssn,note\r\nAda,123456789,"line one\r\nssn 321-54-9876, ok"\r\nBob,,plain\r\n';
    for (const size of [1, 4, 100]) {
      const out = await through(maskCsvStream(plans(), ",", 1 << 20), csv, size);
      expect(out).not.toContain("123456789");
      expect(out).not.toContain("321-54-9876");
      expect(out).toContain("Ada,*****6789,");
      expect(out).toContain("Bob,,plain\r\n");
    }
  });

  test("SSE per event: JSON data masked by name, text data by detectors, fields kept", async () => {
    const sse = 'id: 1\nevent: c\ndata: {"ssn":"123-45-6789","n":1}\n\ndata: mail ada@example.com\n\n';
    for (const size of [1, 9, 1000]) {
      const out = await through(maskSseStream(plans(), jsonMasker(engine, RULES), 1 << 20), sse, size);
      expect(out).toBe('id: 1\nevent: c\ndata: {"ssn":"***-**-6789","n":1}\n\ndata: mail [REDACTED]\n\n');
    }
  });

  test("forms and XML by field, element and attribute name", () => {
    const form = maskForm(plans(), "name=Ada&taxId=078051120&email=ada%40example.com");
    expect(form.startsWith("name=Ada&taxId=*****1120&email=")).toBe(true);
    expect(decodeURIComponent(form)).not.toContain("ada@example.com");
    const xml = maskXml(
      plans(),
      '<c ssn="123456789" id="7"><phoneNumber>2125550199</phoneNumber><n>Ada</n></c>',
    );
    expect(xml).toBe('<c ssn="*****6789" id="7"><phoneNumber>******0199</phoneNumber><n>Ada</n></c>');
  });

  test("XML character references are read as the parser reads them, named entities from a DTD refused", () => {
    // "123-45-6789" and an e-mail written as references: masked, where the raw text never matched.
    const digits = [..."123-45-6789"].map((c) => `&#${c.charCodeAt(0)};`).join("");
    const hex = [..."ada@example.com"].map((c) => `&#x${c.charCodeAt(0).toString(16)};`).join("");
    const xml = maskXml(plans(), `<c><ssn>${digits}</ssn><note>mail ${hex} &amp; &lt;b&gt;</note></c>`);
    expect(xml).toBe("<c><ssn>***-**-6789</ssn><note>mail [REDACTED] &amp; &lt;b&gt;</note></c>");
    expect(maskXml(plans(), `<c n="A&#x27;da &quot;x&quot;"/>`)).toBe(`<c n="A'da &quot;x&quot;"/>`);
    expect(() => maskXml(plans(), "<c>&ssn;</c>")).toThrow(/entity &ssn;/);
    expect(() => maskXml(plans(), '<!DOCTYPE c [<!ENTITY s "123-45-6789">]><c>&s;</c>')).toThrow(
      /entity declarations/,
    );
  });
});

describe("scrubbing", () => {
  const s = scrubberFor({ kind: "bearer", token: { reveal: () => "tok/en+secret=" } })!;
  const body = `a tok/en+secret= b ${Buffer.from("tok/en+secret=").toString("base64")} c ${encodeURIComponent("tok/en+secret=")} d tok\\/en+secret=`;

  test("every form is replaced", () => {
    expect(Buffer.from(scrubBytes(s, enc.encode(body))).toString()).toBe(
      "a [REDACTED] b [REDACTED] c [REDACTED] d [REDACTED]",
    );
  });

  test.each([1, 2, 5, 13, 1000])("and in a stream split into %p-byte chunks", async (size) => {
    expect(await through(scrubStream(s), body, size)).toBe(
      "a [REDACTED] b [REDACTED] c [REDACTED] d [REDACTED]",
    );
  });
});
