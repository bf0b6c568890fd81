// Which masker reads a response body, by its media type (RFC 9110 §8.3). Types no masker reads are
// `opaque`: refused for masked identities unless the connection lists them in `unmasked_types`.

/** `application/…` types that are text a person or an agent reads (scripts, configuration, queries). */
const TEXT_APPLICATION = new Set([
  "application/javascript",
  "application/x-javascript",
  "application/ecmascript",
  "application/yaml",
  "application/x-yaml",
  "application/toml",
  "application/x-toml",
  "application/sql",
  "application/graphql",
  "application/x-sh",
  "application/x-httpd-php",
]);

export type ContentKind = "json" | "ndjson" | "sse" | "csv" | "tsv" | "form" | "xml" | "text" | "opaque";

/** The `type/subtype` of a Content-Type value, lower-cased; "" when absent. */
export function mediaType(contentType: string | null): string {
  if (contentType === null) return "";
  const semi = contentType.indexOf(";");
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

export function contentKind(contentType: string | null): ContentKind {
  const t = mediaType(contentType);
  // No type: the client will sniff it (and a browser or an agent reads text), so it is masked as text.
  if (t === "") return "text";
  if (t === "application/json" || t === "text/json" || /^application\/[\w.+-]+\+json$/.test(t)) return "json";
  if (t === "application/x-ndjson" || t === "application/jsonl" || t === "application/json-seq")
    return "ndjson";
  if (t === "text/event-stream") return "sse";
  if (t === "text/csv" || t === "application/csv") return "csv";
  if (t === "text/tab-separated-values") return "tsv";
  if (t === "application/x-www-form-urlencoded") return "form";
  if (t === "application/xml" || t === "text/xml" || /^application\/[\w.+-]+\+xml$/.test(t)) return "xml";
  if (t.startsWith("text/")) return "text";
  if (TEXT_APPLICATION.has(t)) return "text";
  return "opaque";
}

/** Whether the connection lets this type reach masked identities unmasked (`image/*` matches `image/png`). */
export function listedType(contentType: string | null, listed: readonly string[]): boolean {
  const t = mediaType(contentType);
  if (t === "") return false;
  const major = `${t.slice(0, t.indexOf("/"))}/*`;
  return listed.includes(t) || listed.includes(major);
}
