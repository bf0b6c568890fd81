// Body formats with named fields, masked field by field with the decision's rules (field-plans.ts):
// CSV and TSV by header name (RFC 4180) as a stream of records; Server-Sent Events per event (WHATWG
// HTML §9.2: `data:` lines joined, masked as JSON when they are JSON, as text otherwise); NDJSON per
// line; `application/x-www-form-urlencoded` by key and XML by element and attribute name, both read
// whole within the masking bound. Anything a parser cannot read fails closed (the caller refuses).
import { CustosError } from "../core/errors.ts";
import type { FieldPlans } from "./field-plans.ts";
import type { JsonMasker } from "./json-mask.ts";
import { maskText } from "./text-mask.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function tooLarge(bound: number, what: string): CustosError {
  return new CustosError("upstream.protocol", `a ${what} exceeds ${bound} bytes, the bound for masking`);
}

/** Splits a byte stream into text units ending at `boundary(text)`; the rest waits for more bytes. */
function unitStream(
  bound: number,
  what: string,
  cut: (text: string, final: boolean) => number,
  emit: (unit: string) => string,
): TransformStream<Uint8Array, Uint8Array> {
  const dec = new TextDecoder();
  let pending = "";
  const drain = (controller: TransformStreamDefaultController<Uint8Array>, final: boolean) => {
    const at = cut(pending, final);
    if (at > 0) {
      controller.enqueue(encoder.encode(emit(pending.slice(0, at))));
      pending = pending.slice(at);
    }
    if (final && pending.length > 0) {
      controller.enqueue(encoder.encode(emit(pending)));
      pending = "";
    }
    if (pending.length > bound) throw tooLarge(bound, what);
  };
  return new TransformStream({
    transform(chunk, controller) {
      const text = dec.decode(chunk, { stream: true });
      pending += text;
      // A unit ends at a line break: without one in this chunk nothing new can be cut, and re-reading
      // the pending text for every small chunk would cost quadratic time (ENFORCEMENT §7).
      if (/[\r\n]/.test(text)) drain(controller, false);
      else if (pending.length > bound) throw tooLarge(bound, what);
    },
    flush(controller) {
      pending += dec.decode();
      drain(controller, true);
    },
  });
}

// ---- CSV / TSV ----

/** Fields of complete records in `text`; returns them and where the unfinished rest starts. */
function csvRecords(
  text: string,
  sep: string,
  final: boolean,
): { records: string[][]; ends: string[]; rest: number } {
  const records: string[][] = [];
  const ends: string[] = [];
  let fields: string[] = [];
  let field = "";
  let i = 0;
  let start = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        if (i + 1 >= text.length && !final) break;
        quoted = false;
      } else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === "") {
      quoted = true;
      i++;
    } else if (c === sep) {
      fields.push(field);
      field = "";
      i++;
    } else if (c === "\r" || c === "\n") {
      if (c === "\r" && i + 1 >= text.length && !final) break;
      const eol = c === "\r" && text[i + 1] === "\n" ? "\r\n" : c;
      fields.push(field);
      records.push(fields);
      ends.push(eol);
      fields = [];
      field = "";
      i += eol.length;
      start = i;
    } else {
      field += c;
      i++;
    }
  }
  if (final && (field !== "" || fields.length > 0) && !quoted) {
    fields.push(field);
    records.push(fields);
    ends.push("");
    start = text.length;
  }
  if (final && quoted) throw new CustosError("upstream.protocol", "the CSV body ends inside a quoted field");
  return { records, ends, rest: start };
}

function csvField(value: string, sep: string): string {
  return value.includes(sep) || /["\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The separator a header line uses: the declared one, unless it holds none and `;` or a tab instead. */
function sniffSeparator(text: string, declared: string): string {
  const nl = text.search(/[\r\n]/);
  const line = nl === -1 ? text : text.slice(0, nl);
  if (line.includes(declared)) return declared;
  for (const s of [";", "\t", ",", "|"]) if (line.includes(s)) return s;
  return declared;
}

export function maskCsvStream(
  plans: FieldPlans,
  declared: string,
  bound: number,
): TransformStream<Uint8Array, Uint8Array> {
  let header: string[] | null = null;
  let sep = declared;
  let out = "";
  return unitStream(
    bound,
    "CSV record",
    (text, final) => {
      if (header === null) {
        // Wait for the whole header line to know its separator (European CSV uses `;`).
        if (!final && !/[\r\n]/.test(text)) return 0;
        sep = sniffSeparator(text, declared);
      }
      const { records, ends, rest } = csvRecords(text, sep, final);
      out = "";
      records.forEach((fields, r) => {
        let masked: string[];
        if (header === null) {
          header = fields;
          // Header names are names, not data, but a header can be anything: still scanned.
          masked = fields.map((f) => plans.scan(f, plans.anonymous));
        } else {
          const h = header;
          masked = fields.map((f, i) => plans.field(h[i] ?? "", f));
        }
        out += masked.map((f) => csvField(f, sep)).join(sep) + ends[r]!;
      });
      return rest;
    },
    () => out,
  );
}

// ---- Server-Sent Events ----

/** End of the last complete event (after its blank line) in `text`, or 0. */
function lastEventEnd(text: string): number {
  let best = 0;
  for (const sep of ["\n\n", "\r\n\r\n", "\r\r"]) {
    const at = text.lastIndexOf(sep);
    if (at !== -1 && at + sep.length > best) best = at + sep.length;
  }
  return best;
}

function maskEvent(plans: FieldPlans, json: JsonMasker, block: string): string {
  const lines = block.split(/\r\n|\r|\n/);
  const data: string[] = [];
  const other: string[] = [];
  let dataAt = -1;
  for (const line of lines) {
    if (line === "") continue;
    if (line.startsWith("data:") || line === "data") {
      if (dataAt === -1) dataAt = other.length;
      data.push(line.startsWith("data: ") ? line.slice(6) : line.slice(5));
    } else other.push(decoder.decode(maskText(plans, encoder.encode(line))));
  }
  if (dataAt !== -1) {
    const joined = data.join("\n");
    let masked: string[];
    try {
      masked = [JSON.stringify(json.mask(JSON.parse(joined)))];
    } catch {
      masked = data.map((d) => decoder.decode(maskText(plans, encoder.encode(d))));
    }
    other.splice(dataAt, 0, ...masked.map((d) => `data: ${d}`));
  }
  return other.length ? `${other.join("\n")}\n\n` : "\n";
}

export function maskSseStream(
  plans: FieldPlans,
  json: JsonMasker,
  bound: number,
): TransformStream<Uint8Array, Uint8Array> {
  return unitStream(
    bound,
    "server-sent event",
    (text) => lastEventEnd(text),
    (block) => {
      // A block holds one or more whole events.
      return block
        .split(/(?:\r\n|\r|\n){2}/)
        .filter((e) => e.trim() !== "")
        .map((e) => maskEvent(plans, json, e))
        .join("");
    },
  );
}

// ---- NDJSON ----

export function maskNdjsonStream(json: JsonMasker, bound: number): TransformStream<Uint8Array, Uint8Array> {
  return unitStream(
    bound,
    "JSON line",
    (text) => text.lastIndexOf("\n") + 1,
    (block) =>
      block
        .split("\n")
        .map((line) => {
          if (line.trim() === "") return line;
          try {
            return JSON.stringify(json.mask(JSON.parse(line)));
          } catch {
            throw new CustosError(
              "upstream.protocol",
              "a line of the NDJSON body is not JSON and must be masked",
            );
          }
        })
        .join("\n"),
  );
}

// ---- Forms ----

export function maskForm(plans: FieldPlans, text: string): string {
  const params = new URLSearchParams(text);
  const out = new URLSearchParams();
  for (const [k, v] of params) out.append(plans.scan(k, plans.anonymous), plans.field(k, v));
  return out.toString();
}

// ---- XML ----

const ATTR = /([A-Za-z_][\w:.-]*)(\s*=\s*)("([^"]*)"|'([^']*)')/g;

function localName(qname: string): string {
  const c = qname.lastIndexOf(":");
  return c === -1 ? qname : qname.slice(c + 1);
}

/** XML's predefined entities (XML 1.0 §4.6); any other named entity needs a DTD the masker does not read. */
const PREDEFINED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
const REFERENCE = /&(#x[0-9A-Fa-f]+|#[0-9]+|[A-Za-z_][\w.-]*);/g;

/**
 * Character and entity references resolved (XML 1.0 §4.1), so `&#49;&#50;…` is scanned as the digits a
 * parser reads, not as markup the detectors never match. A named entity other than the five predefined
 * ones is refused: its text lives in a DTD.
 */
function xmlText(raw: string): string {
  if (!raw.includes("&")) return raw;
  return raw.replace(REFERENCE, (_all, ref: string) => {
    if (ref.startsWith("#")) {
      const code = ref[1] === "x" ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      if (!Number.isFinite(code) || code > 0x10ffff)
        throw new CustosError("upstream.protocol", "malformed XML character reference");
      return String.fromCodePoint(code);
    }
    const known = PREDEFINED[ref];
    if (known === undefined)
      throw new CustosError(
        "upstream.protocol",
        `XML entity &${ref}; cannot be masked (it is defined in a DTD)`,
      );
    return known;
  });
}

/** Text back into markup: what xmlText resolved is escaped again, so the document stays well-formed. */
function xmlEscape(text: string, quote?: '"' | "'"): string {
  let out = text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
  if (quote) out = out.replaceAll(quote, quote === '"' ? "&quot;" : "&apos;");
  return out;
}

/**
 * XML masked by name: an element's text by the element's name (its nearest named ancestor for mixed
 * content), each attribute by the attribute's name, and everything (comments, CDATA) by the detectors.
 * A lexical pass, not a validating parser: markup it cannot place (`<` without `>`) is refused.
 */
export function maskXml(plans: FieldPlans, text: string): string {
  // An internal DTD can define entities whose text the masker would never see.
  if (/<!ENTITY/i.test(text))
    throw new CustosError("upstream.protocol", "XML with entity declarations cannot be masked");
  const stack: string[] = [];
  let out = "";
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf("<", i);
    const chunk = lt === -1 ? text.slice(i) : text.slice(i, lt);
    if (chunk) {
      const name = stack[stack.length - 1] ?? "";
      out += chunk.trim() === "" ? chunk : xmlEscape(plans.field(name, xmlText(chunk)));
    }
    if (lt === -1) break;
    if (text.startsWith("<!--", lt)) {
      const end = text.indexOf("-->", lt);
      if (end === -1) throw new CustosError("upstream.protocol", "unterminated XML comment");
      out += `<!--${plans.scan(text.slice(lt + 4, end), plans.anonymous)}-->`;
      i = end + 3;
      continue;
    }
    if (text.startsWith("<![CDATA[", lt)) {
      const end = text.indexOf("]]>", lt);
      if (end === -1) throw new CustosError("upstream.protocol", "unterminated XML CDATA section");
      const name = stack[stack.length - 1] ?? "";
      out += `<![CDATA[${plans.field(name, text.slice(lt + 9, end))}]]>`;
      i = end + 3;
      continue;
    }
    const gt = text.indexOf(">", lt);
    if (gt === -1) throw new CustosError("upstream.protocol", "unterminated XML markup");
    const tag = text.slice(lt, gt + 1);
    if (tag.startsWith("</")) {
      stack.pop();
      out += tag;
    } else if (tag.startsWith("<?") || tag.startsWith("<!")) {
      out += plans.scan(tag, plans.anonymous);
    } else {
      const m = /^<([A-Za-z_][\w:.-]*)/.exec(tag);
      if (!m) throw new CustosError("upstream.protocol", "malformed XML tag");
      const name = localName(m[1]!);
      out += tag.replace(ATTR, (_all, attr: string, eq: string, _q: string, dq?: string, sq?: string) => {
        const quote = dq !== undefined ? '"' : "'";
        const value = plans.field(localName(attr), xmlText(dq ?? sq ?? ""));
        return `${attr}${eq}${quote}${xmlEscape(value, quote)}${quote}`;
      });
      if (!tag.endsWith("/>")) stack.push(name);
    }
    i = gt + 1;
  }
  return out;
}
