// `custos token issue`: prints a short-lived gateway token, for service identities without an IdP.

import { parseDuration } from "../config/duration.ts";
import { loadConfig } from "../config/load.ts";
import type { IdentityKind } from "../core/identity.ts";
import { loadOrCreateGatewayKey } from "../identity/gateway-key.ts";
import { issueGatewayToken } from "../identity/gateway-tokens.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";

const KINDS = new Set(["human", "agent", "service"]);

export const tokenIssueCommand: CliCommand = {
  name: "token issue",
  summary: "print a short-lived token signed by the gateway's key",
  usage: `usage: custos token issue --config FILE --subject S [--groups a,b] [--kind service|agent|human] [--ttl 10m]

Prints only the token (EdDSA, signed with the gateway key in data_dir), for service identities that have
no identity provider. Present it as the PostgreSQL password. --kind defaults to service; --ttl to 10m and
may not exceed identity.gateway_tokens.max_ttl.`,
  async run(argv) {
    const { flags } = parseFlags(argv, {
      config: "string",
      subject: "string",
      groups: "string",
      kind: "string",
      ttl: "string",
    });
    if (typeof flags.config !== "string") throw new CliError("token issue needs --config FILE", 2);
    if (typeof flags.subject !== "string" || !flags.subject)
      throw new CliError("token issue needs --subject S", 2);
    const kind = (flags.kind ?? "service") as string;
    if (!KINDS.has(kind)) throw new CliError(`--kind must be human, agent or service, not "${kind}"`, 2);
    const ttlMs = parseDuration((flags.ttl as string | undefined) ?? "10m");
    if (ttlMs === null || ttlMs <= 0)
      throw new CliError(`--ttl: expected a duration like 10m, got "${flags.ttl}"`, 2);
    // Minting a token needs the key in data_dir, not the targets' secrets.
    const config = loadConfig(flags.config, process.env, { secrets: false });
    if (ttlMs > config.identity.gatewayTokens.maxTtlMs) {
      throw new CliError(
        `--ttl exceeds identity.gateway_tokens.max_ttl (${config.identity.gatewayTokens.maxTtlMs / 1000}s)`,
      );
    }
    const groups =
      typeof flags.groups === "string"
        ? flags.groups
            .split(",")
            .map((g) => g.trim())
            .filter(Boolean)
        : [];
    const key = await loadOrCreateGatewayKey(config.dataDir);
    const token = await issueGatewayToken(key, {
      subject: flags.subject,
      groups,
      kind: kind as IdentityKind,
      ttlMs,
    });
    process.stdout.write(`${token}\n`);
    return 0;
  },
};
