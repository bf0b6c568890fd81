// `custos token issue`: prints a short-lived gateway token, for service identities without an IdP. The
// token is printed only once its `token.issued` event is durable in the audit store (fail closed).

import { parseDuration } from "../config/duration.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/types.ts";
import { CustosError } from "../core/errors.ts";
import type { IdentityKind } from "../core/identity.ts";
import { type GatewayKey, loadOrCreateGatewayKey } from "../identity/gateway-key.ts";
import { type IssuedGatewayToken, mintGatewayToken, resolveKind } from "../identity/gateway-tokens.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";
import { localOperator, recordEvents } from "./store-access.ts";

const KINDS = new Set(["human", "agent", "service"]);

export const tokenIssueCommand: CliCommand = {
  name: "token issue",
  summary: "print a short-lived token signed by the gateway's key",
  usage: `usage: custos token issue --config FILE --subject S [--groups a,b] [--kind service|agent|human] [--ttl 10m]

Prints only the token (EdDSA, signed with the gateway key in data_dir), for service identities that have
no identity provider. Present it as the PostgreSQL password. --kind defaults to service, or to agent when a
group is one of identity.agent_groups (a contradicting --kind is refused); --ttl to 10m and may not exceed
identity.gateway_tokens.max_ttl. Every token is recorded as a token.issued audit event (who ran the
command, subject, groups, kind, ttl, jti; never the token) before it is printed: no event, no token.`,
  async run(argv) {
    const { flags } = parseFlags(argv, {
      config: "string",
      subject: "string",
      groups: "string",
      kind: "string",
      ttl: "string",
    });
    if (typeof flags.config !== "string") throw new CliError("token issue needs --config FILE", 2);
    if (typeof flags.subject !== "string" || !flags.subject.trim())
      throw new CliError("token issue needs --subject S", 2);
    const requested = flags.kind as string | undefined;
    if (requested !== undefined && !KINDS.has(requested))
      throw new CliError(`--kind must be human, agent or service, not "${requested}"`, 2);
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
    let kind: IdentityKind;
    try {
      kind = resolveKind(groups, requested as IdentityKind | undefined, config.identity.agentGroups);
    } catch (err) {
      throw new CliError(`--kind: ${(err as Error).message}`, 2);
    }
    const key = await loadOrCreateGatewayKey(config.dataDir);
    const issued = await mintGatewayToken(key, {
      subject: flags.subject,
      groups,
      kind,
      ttlMs,
      maxTtlMs: config.identity.gatewayTokens.maxTtlMs,
    });
    await recordTokenIssued(config, key, issued, ttlMs, "token");
    process.stdout.write(`${issued.token}\n`);
    return 0;
  },
};

/**
 * F1, F10: every gateway-signed identity is in the CLI's signed log, with who minted it; the jti names the
 * token. No event, no token: the caller prints nothing when this throws.
 */
export async function recordTokenIssued(
  config: Config,
  key: GatewayKey,
  issued: IssuedGatewayToken,
  ttlMs: number,
  what: "token" | "link",
  purpose?: string,
): Promise<void> {
  try {
    await recordEvents(config, key, [
      {
        type: "token.issued",
        time: Date.now(),
        data: {
          minted_by: localOperator(),
          ...(purpose ? { purpose } : {}),
          issuer: issued.issuer,
          subject: issued.subject,
          groups: issued.groups,
          kind: issued.kind,
          ttl_ms: ttlMs,
          jti: issued.jti,
          issued_at: issued.issuedAt,
          expires_at: issued.expiresAt,
        },
      },
    ]);
  } catch (err) {
    const reason = err instanceof CustosError ? err.message : String(err);
    throw new CliError(`no ${what} issued: its token.issued audit event could not be written (${reason})`);
  }
}
