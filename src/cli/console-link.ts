// `custos console link`: a new one-time sign-in link for the web console (what `custos demo` prints at
// start), for when the first one was used or the console session expired. The link carries a short-lived
// gateway token for a human holding console roles; like `custos token issue`, it is printed only once its
// token.issued audit event is durable.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseDuration } from "../config/duration.ts";
import { loadConfig } from "../config/load.ts";
import { publicBase } from "../config/public-url.ts";
import { GATEWAY_KEY_FILE, loadOrCreateGatewayKey } from "../identity/gateway-key.ts";
import { mintGatewayToken } from "../identity/gateway-tokens.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";
import { localOperator } from "./store-access.ts";
import { recordTokenIssued } from "./token-issue.ts";

const LINK_TTL_MAX_MS = 60 * 60_000;

export const consoleLinkCommand: CliCommand = {
  name: "console link",
  summary: "print a one-time sign-in link for the web console",
  usage: `usage: custos console link --config FILE [--subject S] [--groups a,b] [--ttl 10m]

Prints a link to the console's /console/link that signs in once as a human identity, signed with the gateway
key in data_dir. --subject defaults to the local user, --groups to console.roles.admin (the roles the console
grants come from the groups, as for any sign-in). The link works once, within --ttl (default 10m, at most 1h);
the console session it opens lasts console.session_ttl. Recorded as a token.issued audit event before it is
printed (no event, no link).`,
  async run(argv) {
    const { flags } = parseFlags(argv, {
      config: "string",
      subject: "string",
      groups: "string",
      ttl: "string",
    });
    if (typeof flags.config !== "string") throw new CliError("console link needs --config FILE", 2);
    const ttlMs = parseDuration((flags.ttl as string | undefined) ?? "10m");
    if (ttlMs === null || ttlMs < 1_000 || ttlMs > LINK_TTL_MAX_MS)
      throw new CliError(`--ttl: expected a duration from 1s to 1h, got "${flags.ttl}"`, 2);
    const config = loadConfig(flags.config, process.env, { secrets: false });
    const subject = typeof flags.subject === "string" ? flags.subject.trim() : localOperator().user;
    if (!subject) throw new CliError("--subject must not be empty", 2);
    const groups =
      typeof flags.groups === "string"
        ? flags.groups
            .split(",")
            .map((g) => g.trim())
            .filter(Boolean)
        : config.console.roles.admin;
    const { admin, approver, auditor } = config.console.roles;
    if (!groups.some((g) => admin.includes(g) || approver.includes(g) || auditor.includes(g)))
      throw new CliError(
        "none of these groups holds a console role (console.roles in the config): the link would be refused",
        2,
      );
    // A key made here would be one the running gateway does not know: only an existing one will do.
    if (!existsSync(join(config.dataDir, GATEWAY_KEY_FILE)))
      throw new CliError(`no gateway key in ${config.dataDir}: start the gateway with this config first`);
    const key = await loadOrCreateGatewayKey(config.dataDir);
    const issued = await mintGatewayToken(key, {
      subject,
      groups,
      kind: "human",
      ttlMs,
      maxTtlMs: Math.max(ttlMs, config.identity.gatewayTokens.maxTtlMs),
    });
    await recordTokenIssued(config, key, issued, ttlMs, "link", "console_link");
    // The same base the gateway hands out in approval links (gateway.ts).
    const base = publicBase(config.listen, { tls: false }).url;
    process.stdout.write(`${base}/console/link?token=${issued.token}\n`);
    return 0;
  },
};
