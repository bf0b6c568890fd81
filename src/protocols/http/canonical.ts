// The request path as upstream frameworks route it, so the policy decides the path the upstream serves
// and the gateway forwards exactly that form. Bun has already applied the WHATWG URL rules to the
// request line (dot segments resolved, `\` read as `/`, `%2e` segments as dots); on top of that, the way
// Spring, Tomcat, Express and most routers read a path: `;params` dropped from each segment (`/admin;x=1`
// is `/admin`, `/..;/` is `/../`), empty segments merged (`//admin`), dot segments resolved again (after
// the params went), unreserved escapes decoded (`/%61dmin` is `/admin`, RFC 3986 §6.2.2.2). Escapes that
// frameworks disagree on are refused rather than guessed: encoded `/` `\` `.` `;` NUL and other control
// bytes, double encoding (`%25` + hex), invalid or overlong UTF-8 (RFC 3629 §3). Pure.

export type CanonicalPath = { ok: true; path: string } | { ok: false; reason: string };

const HEX = "0123456789ABCDEF";

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** RFC 3986 §2.3 unreserved, except `.`, which is refused when encoded (`%2e%2e` segments). */
function isUnreservedNotDot(b: number): boolean {
  return (
    (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b === 45 || b === 95 || b === 126
  );
}

/** Escapes refused outright, by decoded byte: / \ . ; and NUL (plus every control byte below). */
const REFUSED: Record<number, string> = {
  47: "%2F",
  92: "%5C",
  46: "%2E",
  59: "%3B",
  0: "%00",
};

/** Length of the UTF-8 sequence led by `b`, or 0 when `b` cannot lead one (RFC 3629 §4). */
function utf8Length(b: number): number {
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/** Valid, shortest-form UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). */
function validUtf8(bytes: number[]): boolean {
  const [a, b] = bytes as [number, number];
  if (bytes.slice(1).some((x) => x < 0x80 || x > 0xbf)) return false;
  if (a === 0xe0 && b < 0xa0) return false; // overlong 3-byte
  if (a === 0xed && b > 0x9f) return false; // surrogates
  if (a === 0xf0 && b < 0x90) return false; // overlong 4-byte
  if (a === 0xf4 && b > 0x8f) return false; // above U+10FFFF
  return true;
}

/** One segment with escapes decoded where that is safe; a string reason when it must be refused. */
function segment(raw: string): string | { reason: string } {
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x5c) return { reason: "a backslash in the path" };
    if (c < 0x21 || c > 0x7e) return { reason: "a control or non-ASCII byte in the path" };
    if (c !== 37) {
      out += raw[i];
      continue;
    }
    const hi = hexValue(raw.charCodeAt(i + 1));
    const lo = hexValue(raw.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return { reason: "a malformed percent-escape in the path" };
    const b = hi * 16 + lo;
    i += 2;
    const refused = REFUSED[b];
    if (refused) return { reason: `an encoded ${refused} in the path` };
    if (b < 0x20 || b === 0x7f) return { reason: "an encoded control byte in the path" };
    if (b === 0x25 && hexValue(raw.charCodeAt(i + 1)) >= 0 && hexValue(raw.charCodeAt(i + 2)) >= 0)
      return { reason: "a double-encoded escape in the path" };
    if (isUnreservedNotDot(b)) {
      out += String.fromCharCode(b);
      continue;
    }
    if (b < 0x80) {
      out += `%${HEX[hi]}${HEX[lo]}`;
      continue;
    }
    const n = utf8Length(b);
    if (n === 0) return { reason: "invalid or overlong UTF-8 in the path" };
    const seq = [b];
    let enc = `%${HEX[hi]}${HEX[lo]}`;
    for (let k = 1; k < n; k++) {
      if (raw[i + 1] !== "%") return { reason: "invalid or overlong UTF-8 in the path" };
      const h2 = hexValue(raw.charCodeAt(i + 2));
      const l2 = hexValue(raw.charCodeAt(i + 3));
      if (h2 < 0 || l2 < 0) return { reason: "a malformed percent-escape in the path" };
      seq.push(h2 * 16 + l2);
      enc += `%${HEX[h2]}${HEX[l2]}`;
      i += 3;
    }
    if (!validUtf8(seq)) return { reason: "invalid or overlong UTF-8 in the path" };
    out += enc;
  }
  return out;
}

/** `rest` is the path below the connection prefix as the server received it ("" or starting with "/"). */
export function canonicalPath(rest: string): CanonicalPath {
  if (rest === "" || rest === "/") return { ok: true, path: "/" };
  const parts = rest.split("/");
  const trailing = parts.length > 1 && parts[parts.length - 1] === "";
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    let raw = parts[i]!;
    // Matrix parameters (RFC 3986 §3.3's `;` sub-delimiter) are dropped the way servlet containers do.
    const semi = raw.indexOf(";");
    if (semi !== -1) raw = raw.slice(0, semi);
    if (raw === "") continue;
    const seg = segment(raw);
    if (typeof seg !== "string") return { ok: false, reason: seg.reason };
    if (seg === ".") continue;
    if (seg === "..") {
      out.pop();
      continue;
    }
    out.push(seg);
  }
  const path = `/${out.join("/")}`;
  return { ok: true, path: trailing && out.length > 0 ? `${path}/` : path };
}
