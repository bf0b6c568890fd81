// `siem:` — sinks the audit stream is delivered to (src/audit/siem/), several at once: syslog (RFC 5424
// over TCP, or TLS with RFC 5425 framing), HTTP (generic JSON or Splunk HEC), a rotating JSON Lines file.
import { resolve } from "node:path";
import { z } from "zod";
import type { HttpLoadContext } from "./http-load.ts";
import { parseListenAddress } from "./listen-address.ts";
import { outboundUrl } from "./outbound-url.ts";
import type { Secret } from "./secret.ts";
import { parseSize } from "./size.ts";

const nonEmpty = z.string().min(1, "must not be empty");
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an environment variable name");
const common = {
  /** Names the sink's cursor in the audit store; defaults to type:address/url/path. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.:/@-]{1,200}$/, "expected 1-200 of A-Z a-z 0-9 _ . : / @ -")
    .optional(),
  format: z.enum(["ocsf", "native"]).default("ocsf"),
};

const address = z.string().refine((t) => typeof parseListenAddress(t) !== "string", "expected host:port");

const size = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const bytes = parseSize(v);
  if (bytes === null || bytes < 1024) {
    ctx.addIssue({ code: "custom", message: `expected a size of at least 1KiB like 100MiB, got "${v}"` });
    return z.NEVER;
  }
  return bytes;
});

const sinkUrl = outboundUrl;

export const siemSink = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("syslog"),
    address,
    transport: z.enum(["tcp", "tls"]).default("tls"),
    ca_file: nonEmpty.optional(),
    /** RFC 5424 HOSTNAME field; defaults to the machine's host name. */
    hostname: z
      .string()
      .regex(/^[!-~]{1,255}$/, "expected printable ASCII without spaces")
      .optional(),
    ...common,
  }),
  z.strictObject({
    type: z.literal("http"),
    url: sinkUrl,
    shape: z.enum(["json", "splunk_hec"]).default("json"),
    /** Bearer token (json) or HEC token (splunk_hec). */
    token_env: envName.optional(),
    token_file: nonEmpty.optional(),
    /** HMAC-SHA256 key: X-Custos-Signature over timestamp.body. */
    secret_env: envName.optional(),
    secret_file: nonEmpty.optional(),
    ca_file: nonEmpty.optional(),
    ...common,
  }),
  z.strictObject({
    type: z.literal("file"),
    path: nonEmpty,
    max_size: size.default(100 * 2 ** 20),
    keep: z.number().int().min(1).max(1000).default(10),
    ...common,
  }),
]);

export const siemSection = z.array(siemSink).default([]);
export type RawSiemSink = z.output<typeof siemSink>;

export type SiemSinkConfig = { name: string; format: "ocsf" | "native" } & (
  | {
      type: "syslog";
      host: string;
      port: number;
      transport: "tcp" | "tls";
      ca: string | null;
      hostname: string | null;
    }
  | {
      type: "http";
      url: string;
      shape: "json" | "splunk_hec";
      token: Secret | null;
      hmacKey: Secret | null;
      ca: string | null;
    }
  | { type: "file"; path: string; maxSize: number; keep: number }
);

export function resolveSiem(raw: RawSiemSink[], ctx: HttpLoadContext): SiemSinkConfig[] {
  const seen = new Set<string>();
  return raw.map((s, i) => {
    const at = `siem[${i}]`;
    const either = (env: string | undefined, file: string | undefined, key: string) => {
      if (env !== undefined && file !== undefined)
        throw ctx.fail(`${at}.${key}_file`, `use either ${key}_env or ${key}_file, not both`);
      if (env !== undefined) return ctx.fromEnv(env, `${at}.${key}_env`);
      if (file !== undefined) return ctx.fromFile(file, `${at}.${key}_file`);
      return null;
    };
    const ca = (file: string | undefined) => {
      if (file === undefined) return null;
      const text = ctx.readText(resolve(ctx.baseDir, file), `${at}.ca_file`);
      if (!text.includes("-----BEGIN CERTIFICATE-----"))
        throw ctx.fail(`${at}.ca_file`, "holds no PEM certificate");
      return text;
    };
    let out: SiemSinkConfig;
    if (s.type === "syslog") {
      const hp = parseListenAddress(s.address);
      if (typeof hp === "string") throw ctx.fail(`${at}.address`, hp);
      if (s.ca_file !== undefined && s.transport !== "tls")
        throw ctx.fail(`${at}.ca_file`, "ca_file needs transport: tls");
      out = {
        type: "syslog",
        name: s.name ?? `syslog:${s.address}`,
        format: s.format,
        host: hp.host,
        port: hp.port,
        transport: s.transport,
        ca: ca(s.ca_file),
        hostname: s.hostname ?? null,
      };
    } else if (s.type === "http") {
      const token = either(s.token_env, s.token_file, "token");
      const hmacKey = either(s.secret_env, s.secret_file, "secret");
      if (s.shape === "splunk_hec" && !token)
        throw ctx.fail(at, "splunk_hec needs token_env or token_file (the HEC token)");
      out = {
        type: "http",
        name: s.name ?? `http:${s.url}`,
        format: s.format,
        url: s.url,
        shape: s.shape,
        token,
        hmacKey,
        ca: ca(s.ca_file),
      };
    } else {
      const path = resolve(ctx.baseDir, s.path);
      out = {
        type: "file",
        name: s.name ?? `file:${path}`,
        format: s.format,
        path,
        maxSize: s.max_size,
        keep: s.keep,
      };
    }
    if (seen.has(out.name))
      throw ctx.fail(`${at}.name`, `two sinks named "${out.name}": give each a distinct name`);
    seen.add(out.name);
    return out;
  });
}
