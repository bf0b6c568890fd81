// Where a running gateway is reached, read from a config file for the approvers' commands (access, approve,
// deny): only `listen.http` and `listen.public_url` are read and checked. Those commands talk to the
// gateway's API with the caller's own token, so they never need — and never resolve — the targets' secrets,
// the audit store's URL or anything else in the file.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { CustosError } from "../core/errors.ts";
import { publicBase } from "./public-url.ts";
import { rawConfigSchema } from "./schema.ts";

/** The gateway's base URL (no trailing slash): listen.public_url when set, else derived from listen.http. */
export function gatewayAddressFromConfig(path: string): string {
  const file = resolve(path);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CustosError(
      "config.invalid",
      `${file}: ${code ? `cannot read the config file (${code})` : "invalid YAML"}`,
    );
  }
  const listen = raw && typeof raw === "object" ? (raw as { listen?: unknown }).listen : undefined;
  const parsed = rawConfigSchema.shape.listen.safeParse(listen);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = ["listen", ...issue.path.map(String)].join(".");
    throw new CustosError("config.invalid", `${file}: ${at}: ${issue.message}`);
  }
  const { http, public_url } = parsed.data;
  // A wildcard listen address is reached on this host's loopback (the CLI runs where it can reach it).
  const host =
    http.host === "0.0.0.0" || http.host === "" ? "127.0.0.1" : /^[0:]+$/.test(http.host) ? "::1" : http.host;
  return publicBase({ http: { host, port: http.port }, publicUrl: public_url ?? null }, { tls: false }).url;
}
