// What a Kubernetes API request is, resolved exactly as the API server's own resolver does it
// (k8s.io/apiserver pkg/endpoints/request/requestinfo.go, RequestInfoFactory.NewRequestInfo, v1.37), so the
// request the policy decides is the request the API server authorizes. Pure: no I/O.
//
// The API server resolves on Go's decoded `URL.Path` and `URL.Query()`. Rather than re-implement Go's
// decoding and risk disagreeing, canonicalRequest() refuses the inputs where forms could differ (percent
// escapes, dot or empty segments in the path; semicolons and bad escapes in the query), so
// the raw path the gateway forwards is the path both sides resolve.

export interface RequestInfo {
  /** False for discovery and health paths (`/api`, `/apis/apps/v1`, `/version`, `/openapi/v3`…). */
  isResourceRequest: boolean;
  path: string;
  /** get list watch create update patch delete deletecollection proxy; non-resource: the lower-case method. */
  verb: string;
  apiPrefix: string;
  /** "" for the core (legacy) group. */
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  parts: string[];
  fieldSelector: string;
  labelSelector: string;
}

// requestinfo.go: specialVerbs, specialVerbsNoSubresources, namespaceSubresources, verbsWithSelectors;
// server/config.go: APIPrefixes {"api", "apis"}, GrouplessAPIPrefixes {"api"}.
const SPECIAL_VERBS = new Set(["proxy", "watch"]);
const SPECIAL_VERBS_NO_SUBRESOURCES = new Set(["proxy"]);
const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);
const VERBS_WITH_SELECTORS = new Set(["list", "watch", "deletecollection"]);
const API_PREFIXES = new Set(["api", "apis"]);
const GROUPLESS_API_PREFIXES = new Set(["api"]);

const METHOD_VERBS: Record<string, string> = {
  POST: "create",
  GET: "get",
  HEAD: "get",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
};

export type Query = ReadonlyMap<string, readonly string[]>;

export type ResolveResult = { ok: true; info: RequestInfo } | { ok: false; message: string };

/** NewRequestInfo over an already canonical path and parsed query. */
export function resolveRequestInfo(method: string, path: string, query: Query): ResolveResult {
  const info: RequestInfo = {
    isResourceRequest: false,
    path,
    verb: method.toLowerCase(),
    apiPrefix: "",
    apiGroup: "",
    apiVersion: "",
    namespace: "",
    resource: "",
    subresource: "",
    name: "",
    parts: [],
    fieldSelector: "",
    labelSelector: "",
  };
  let parts = splitPath(path);
  if (parts.length < 3 || !API_PREFIXES.has(parts[0]!)) return { ok: true, info };
  info.apiPrefix = parts[0]!;
  parts = parts.slice(1);
  if (!GROUPLESS_API_PREFIXES.has(info.apiPrefix)) {
    if (parts.length < 3) return { ok: true, info };
    info.apiGroup = parts[0]!;
    parts = parts.slice(1);
  }
  info.isResourceRequest = true;
  info.apiVersion = parts[0]!;
  parts = parts.slice(1);

  let verbViaPathPrefix = false;
  if (SPECIAL_VERBS.has(parts[0]!)) {
    if (parts.length < 2)
      return { ok: false, message: "unable to determine kind and namespace from the URL" };
    info.verb = parts[0]!;
    parts = parts.slice(1);
    verbViaPathPrefix = true;
  } else {
    info.verb = METHOD_VERBS[method] ?? "";
  }

  if (parts[0] === "namespaces") {
    if (parts.length > 1) {
      info.namespace = parts[1]!;
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
    }
  }
  info.parts = parts;
  if (parts.length >= 3 && !SPECIAL_VERBS_NO_SUBRESOURCES.has(info.verb)) info.subresource = parts[2]!;
  if (parts.length >= 2) info.name = parts[1]!;
  if (parts.length >= 1) info.resource = parts[0]!;

  if (info.name === "" && info.verb === "get") {
    // ListOptions' `watch` is a Go bool query parameter: absent, "0" or "false" (any case) is false, any
    // other first value (the empty string included) true (apimachinery runtime Convert_Slice_string_To_bool).
    const watch = query.get("watch");
    info.verb = watch && watch.length > 0 && !isGoFalse(watch[0]!) ? "watch" : "list";
    const fieldSelector = query.get("fieldSelector")?.[0];
    if (fieldSelector !== undefined) {
      const exact = exactMatch(fieldSelector, "metadata.name");
      if (exact !== null && isPathSegmentName(exact)) info.name = exact;
    }
  }
  if (info.name === "" && info.verb === "delete") info.verb = "deletecollection";
  if (!verbViaPathPrefix && VERBS_WITH_SELECTORS.has(info.verb)) {
    info.fieldSelector = query.get("fieldSelector")?.[0] ?? "";
    info.labelSelector = query.get("labelSelector")?.[0] ?? "";
  }
  return { ok: true, info };
}

function isGoFalse(v: string): boolean {
  return v === "0" || v.toLowerCase() === "false";
}

function splitPath(path: string): string[] {
  const trimmed = path.replace(/^\/+|\/+$/g, "");
  return trimmed === "" ? [] : trimmed.split("/");
}

/** content.IsPathSegmentName: a name usable as one path segment (not "." or "..", no "/" or "%"). */
function isPathSegmentName(name: string): boolean {
  return name !== "." && name !== ".." && !name.includes("/") && !name.includes("%");
}

/**
 * fields.ParseSelector(s).RequiresExactMatch(field): the value a selector pins `field` to (`=` or `==`), or
 * null (also when the selector does not parse, as the API server then leaves the name unset). Terms are
 * comma-separated with `\` escapes, and sorted before the first match is taken (fields/selector.go).
 */
export function exactMatch(selector: string, field: string): string | null {
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (inSlash) inSlash = false;
    else if (c === "\\") inSlash = true;
    else if (c === ",") {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  if (selector.length > 0) terms.push(selector.slice(start));
  terms.sort(goStringLess);
  let found: string | null = null;
  for (const term of terms) {
    if (term === "") continue;
    const split = splitTerm(term);
    if (!split) return null;
    const value = unescapeValue(split.rhs);
    if (value === null) return null;
    if (found === null && split.op !== "!=" && split.lhs === field) found = value;
  }
  return found;
}

// Go sorts strings by bytes; for the ASCII selectors kubectl sends UTF-16 order is the same, and any
// non-ASCII term is compared by its UTF-8 bytes to stay exact.
function goStringLess(a: string, b: string): number {
  const ea = utf8.encode(a);
  const eb = utf8.encode(b);
  const n = Math.min(ea.length, eb.length);
  for (let i = 0; i < n; i++) if (ea[i] !== eb[i]) return ea[i]! - eb[i]!;
  return ea.length - eb.length;
}
const utf8 = new TextEncoder();

const TERM_OPERATORS = ["!=", "==", "="] as const;

function splitTerm(term: string): { lhs: string; op: string; rhs: string } | null {
  for (let i = 0; i < term.length; i++) {
    for (const op of TERM_OPERATORS) {
      if (term.startsWith(op, i)) return { lhs: term.slice(0, i), op, rhs: term.slice(i + op.length) };
    }
  }
  return null;
}

function unescapeValue(s: string): string | null {
  let out = "";
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== "\\" && c !== "," && c !== "=") return null;
      out += c;
      inSlash = false;
      continue;
    }
    if (c === "\\") inSlash = true;
    else if (c === "," || c === "=") return null;
    else out += c;
  }
  return inSlash ? null : out;
}

export type CanonicalResult =
  | { ok: true; path: string; query: Map<string, string[]> }
  | { ok: false; message: string };

/**
 * The request target as both sides will read it, or why it is refused. `rawPath` and `rawQuery` are the
 * request line's bytes (query without its "?").
 */
export function canonicalRequest(rawPath: string, rawQuery: string): CanonicalResult {
  if (!rawPath.startsWith("/")) return { ok: false, message: "the request path must start with /" };
  // RFC 3986 pchar without "%" (nothing for Go to decode) and without ";" (matrix parameters to some
  // routers).
  if (!/^[A-Za-z0-9\-._~!$&'()*+,=:@/]*$/.test(rawPath))
    return { ok: false, message: "percent-encoded or non-ASCII characters in the path are refused" };
  const segments = rawPath.split("/").slice(1);
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (s === "." || s === "..") return { ok: false, message: "dot segments in the path are refused" };
    if (s === "" && i < segments.length - 1)
      return { ok: false, message: "empty segments in the path are refused" };
  }
  const query = new Map<string, string[]>();
  if (rawQuery === "") return { ok: true, path: rawPath, query };
  if (rawQuery.includes(";"))
    return { ok: false, message: "semicolons in the query are refused (Go drops such pairs)" };
  for (const pair of rawQuery.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = goQueryUnescape(eq === -1 ? pair : pair.slice(0, eq));
    const value = goQueryUnescape(eq === -1 ? "" : pair.slice(eq + 1));
    if (key === null || value === null)
      return { ok: false, message: "the query has an invalid percent escape" };
    // Repeats are kept in order (exec's `command=`); the resolver, like Go, reads the first.
    const list = query.get(key);
    if (list) list.push(value);
    else query.set(key, [value]);
  }
  return { ok: true, path: rawPath, query };
}

/** url.QueryUnescape: "+" is a space, "%XX" a byte; the result must be UTF-8 for us to reason about it. */
function goQueryUnescape(s: string): string | null {
  if (!/^(?:[^%]|%[0-9A-Fa-f]{2})*$/.test(s)) return null;
  try {
    return decodeURIComponent(s.replaceAll("+", " "));
  } catch {
    return null;
  }
}
