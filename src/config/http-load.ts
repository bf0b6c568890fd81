// Resolves a validated `type: http` connection: the injected credential from its *_env or *_file key,
// TLS files read and checked, the target URL normalized. Errors name the key path like load.ts does.
import { resolve } from "node:path";
import type { CustosError } from "../core/errors.ts";
import type { RawHttpConnection } from "./http-schema.ts";
import type { Secret } from "./secret.ts";
import type { HttpConnectionConfig, HttpInject } from "./types.ts";

export interface HttpLoadContext {
  baseDir: string;
  fromEnv(name: string, at: string): Secret;
  fromFile(path: string, at: string): Secret;
  readText(file: string, at: string): string;
  fail(path: string, problem: string): CustosError;
}

export function resolveHttpConnection(
  conn: RawHttpConnection,
  at: string,
  ctx: HttpLoadContext,
): HttpConnectionConfig {
  return {
    name: conn.name,
    type: "http",
    target: conn.target.replace(/\/+$/, ""),
    inject: conn.inject ? resolveInject(conn.inject, `${at}.inject`, ctx) : null,
    tls: resolveTls(conn, `${at}.tls`, ctx),
    timeoutMs: conn.timeout,
    limits: {
      policyBody: conn.limits.policy_body,
      maskBody: conn.limits.mask_body,
      recordBody: conn.limits.record_body,
    },
    relay: {
      forwardHeaders: resolveForwardHeaders(conn, `${at}.forward_headers`, ctx),
      forwardCookies: conn.forward_cookies,
      methodOverride: conn.method_override,
      unmaskedTypes: conn.unmasked_types.map((t) => t.toLowerCase()),
    },
    allowGroups: conn.allow_groups,
    labels: conn.labels,
    idleTimeoutMs: conn.idle_timeout,
    maxSessionMs: conn.max_session,
    retention: conn.retention
      ? { eventsMs: conn.retention.events ?? null, recordingsMs: conn.retention.recordings ?? null }
      : null,
  };
}

/**
 * Headers the gateway owns (credentials, framing, client address, routing overrides) cannot be forwarded
 * from the client, whatever the list says: they are what an agent would smuggle.
 */
const NEVER_FORWARDED = new Set([
  "authorization",
  "proxy-authorization",
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "upgrade",
  "cookie",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-forwarded-port",
  "x-forwarded-prefix",
  "x-real-ip",
  "x-client-ip",
  "true-client-ip",
  "x-original-url",
  "x-rewrite-url",
  "x-original-uri",
  "x-http-method",
  "x-http-method-override",
  "x-method-override",
]);

function resolveForwardHeaders(conn: RawHttpConnection, at: string, ctx: HttpLoadContext): string[] {
  const injected = conn.inject?.header?.toLowerCase();
  return conn.forward_headers.map((h, i) => {
    const name = h.toLowerCase();
    if (NEVER_FORWARDED.has(name) || name === injected) {
      throw ctx.fail(`${at}[${i}]`, `${h} is set by the gateway, never forwarded from the client`);
    }
    return name;
  });
}

/** Exactly one of `<base>_env` and `<base>_file`. */
function secretPair(fields: Record<string, unknown>, base: string, at: string, ctx: HttpLoadContext): Secret {
  const env = fields[`${base}_env`] as string | undefined;
  const file = fields[`${base}_file`] as string | undefined;
  if (env !== undefined && file !== undefined) {
    throw ctx.fail(`${at}.${base}_file`, `use either ${base}_env or ${base}_file, not both`);
  }
  if (env !== undefined) return ctx.fromEnv(env, `${at}.${base}_env`);
  if (file !== undefined) return ctx.fromFile(file, `${at}.${base}_file`);
  throw ctx.fail(at, `needs ${base}_env or ${base}_file`);
}

function resolveInject(
  raw: NonNullable<RawHttpConnection["inject"]>,
  at: string,
  ctx: HttpLoadContext,
): HttpInject {
  const kinds = (["header", "query", "bearer", "basic"] as const).filter((k) =>
    k === "bearer" ? raw.bearer_env !== undefined || raw.bearer_file !== undefined : raw[k] !== undefined,
  );
  if (kinds.length !== 1) {
    throw ctx.fail(at, "give exactly one of header, query, bearer_env/bearer_file, basic");
  }
  const misplaced = (keys: readonly (keyof typeof raw)[]) => {
    const extra = keys.find((k) => raw[k] !== undefined);
    if (extra) throw ctx.fail(`${at}.${extra}`, `does not go with ${kinds[0]}`);
  };
  switch (kinds[0]) {
    case "header": {
      const name = raw.header!.toLowerCase();
      // Custos owns these: they frame or route the request.
      if (["host", "content-length", "transfer-encoding", "connection"].includes(name)) {
        throw ctx.fail(`${at}.header`, `cannot inject the ${raw.header} header`);
      }
      return { kind: "header", name: raw.header!, value: secretPair(raw, "value", at, ctx) };
    }
    case "query":
      return { kind: "query", name: raw.query!, value: secretPair(raw, "value", at, ctx) };
    case "basic": {
      misplaced(["value_env", "value_file"]);
      const basic = raw.basic!;
      if (basic.user.includes(":")) throw ctx.fail(`${at}.basic.user`, "must not contain ':' (RFC 7617)");
      return { kind: "basic", user: basic.user, password: secretPair(basic, "password", `${at}.basic`, ctx) };
    }
    default:
      misplaced(["value_env", "value_file"]);
      return { kind: "bearer", token: secretPair(raw, "bearer", at, ctx) };
  }
}

function resolveTls(conn: RawHttpConnection, at: string, ctx: HttpLoadContext): HttpConnectionConfig["tls"] {
  const t = conn.tls;
  if (!t) return { ca: null, cert: null, key: null };
  if (!conn.target.startsWith("https:")) throw ctx.fail(at, "tls settings need an https:// target");
  if ((t.cert_file === undefined) !== (t.key_file === undefined)) {
    throw ctx.fail(
      t.cert_file === undefined ? `${at}.key_file` : `${at}.cert_file`,
      "cert_file and key_file go together",
    );
  }
  const pem = (path: string, key: string, marker: RegExp, what: string): string => {
    const file = resolve(ctx.baseDir, path);
    const text = ctx.readText(file, `${at}.${key}`);
    if (!marker.test(text)) throw ctx.fail(`${at}.${key}`, `${file} holds no PEM ${what}`);
    return text;
  };
  const cert = /-----BEGIN CERTIFICATE-----/;
  return {
    ca: t.ca_file === undefined ? null : pem(t.ca_file, "ca_file", cert, "certificate"),
    cert: t.cert_file === undefined ? null : pem(t.cert_file, "cert_file", cert, "certificate"),
    key:
      t.key_file === undefined
        ? null
        : ((): Secret => {
            const s = ctx.fromFile(t.key_file!, `${at}.key_file`);
            if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(s.reveal())) {
              throw ctx.fail(
                `${at}.key_file`,
                `${resolve(ctx.baseDir, t.key_file!)} holds no PEM private key`,
              );
            }
            return s;
          })(),
  };
}
