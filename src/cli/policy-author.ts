// The policy author's loop beside build/test/eval: the input the gateway would build for a statement on a
// configured connection (`policy eval --config`), what the SQL classifier tells the rules
// (`policy classify`), and the pinned OPA's formatter and strict checker (`policy fmt`, `policy check`).
import { resolve } from "node:path";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/types.ts";
import type { IdentityKind } from "../core/identity.ts";
import { buildPolicyInput, type PolicyInput, statementLabels } from "../policy/input.ts";
import { checkPolicies, DEFAULT_POLICY_DIR, formatPolicies } from "../policy/opa.ts";
import { createSqlClassifier } from "../sql/classifier.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";

const KINDS = new Set(["human", "agent", "service"]);

export const GATEWAY_INPUT_FLAGS = {
  config: "string",
  connection: "string",
  "identity-kind": "string",
  groups: "string",
  subject: "string",
  sql: "string",
  "application-name": "string",
} as const;

export const GATEWAY_INPUT_USAGE = `  --config FILE           build the input as the gateway would, from this config:
  --connection C          a PostgreSQL connection of it (its labels, table_labels and approvers)
  --identity-kind K       human | agent | service (default: agent when a group is in identity.agent_groups,
                          else human)
  --groups a,b            the identity's groups;  --subject S (default policy-author)
  --sql TEXT              the statement(s), classified as the gateway does
  The catalog resolution the gateway adds for agents (views, columns the planner resolved) needs the live
  target: it is absent here, so rules on what the catalog resolved do not fire.`;

/** The policy input the gateway would build for --sql on --connection of --config. */
export async function gatewayInput(
  flags: Record<string, string | boolean | undefined>,
): Promise<PolicyInput> {
  const config = loadConfig(String(flags.config), process.env, { secrets: false });
  const connection = pgConnection(config, flags.connection);
  if (typeof flags.sql !== "string") throw new CliError("--config needs --sql TEXT", 2);
  const groups = list(flags.groups);
  const requested = flags["identity-kind"];
  if (requested !== undefined && (typeof requested !== "string" || !KINDS.has(requested)))
    throw new CliError(`--identity-kind must be human, agent or service, not "${requested}"`, 2);
  const kind = (requested ??
    (groups.some((g) => config.identity.agentGroups.includes(g)) ? "agent" : "human")) as IdentityKind;
  const classification = (await createSqlClassifier()).classify(flags.sql);
  if (classification.error !== undefined)
    throw new CliError(`the gateway's parser refuses this SQL (custos.unparseable): ${classification.error}`);
  const now = Date.now();
  return buildPolicyInput(
    {
      identity: {
        subject: typeof flags.subject === "string" ? flags.subject : "policy-author",
        issuer: "custos:policy-eval",
        groups,
        kind,
        method: "gateway_token",
        expiresAt: now + 60_000,
        context: {},
      },
      connection: { name: connection.name, type: connection.type, labels: connection.labels, target: {} },
      session: {
        id: "policy-eval",
        clientAddr: "127.0.0.1:0",
        startedAt: now,
        applicationName: typeof flags["application-name"] === "string" ? flags["application-name"] : "psql",
      },
    },
    { protocol: "postgres", text: flags.sql },
    classification.statements,
    connection.tableLabels,
    now,
    connection.access.approvers,
  );
}

function pgConnection(config: Config, name: unknown): Config["connections"][number] {
  const names = config.connections.map((c) => c.name);
  if (typeof name !== "string")
    throw new CliError(`--config needs --connection C (one of: ${names.join(", ") || "none"})`, 2);
  const found = config.connections.find((c) => c.name === name);
  if (!found) {
    const http = config.httpConnections.some((c) => c.name === name);
    throw new CliError(
      http
        ? `connection ${name} is HTTP: give its request as JSON with --input FILE`
        : `no PostgreSQL connection ${name} in the config (have: ${names.join(", ") || "none"})`,
      2,
    );
  }
  return found;
}

const list = (v: unknown) =>
  typeof v === "string"
    ? v
        .split(",")
        .map((g) => g.trim())
        .filter(Boolean)
    : [];

export const policyClassifyCommand: CliCommand = {
  name: "policy classify",
  summary: "print what the SQL classifier tells the rules about a statement",
  usage: `usage: custos policy classify SQL [--config FILE --connection C]

Prints input.command.statements for SQL as the gateway builds it: kind, node, tables read and written,
columns, functions, has_where, dml, filter and expression columns, fingerprint… With --config and
--connection, table_labels from that connection too. Exits 1 when the gateway's parser refuses the SQL.`,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { config: "string", connection: "string" });
    const sql = positionals.join(" ");
    if (!sql.trim()) throw new CliError("policy classify needs SQL", 2);
    const c = (await createSqlClassifier()).classify(sql);
    if (c.error !== undefined) {
      process.stdout.write(
        `${JSON.stringify({ error: c.error, position: c.errorPosition ?? null, rule: c.parity ? "custos.parser_setting" : "custos.unparseable" }, null, 2)}\n`,
      );
      return 1;
    }
    const labels =
      typeof flags.config === "string"
        ? pgConnection(loadConfig(flags.config, process.env, { secrets: false }), flags.connection)
            .tableLabels
        : undefined;
    const statements = c.statements.map((s) => statementLabels(s, labels));
    process.stdout.write(`${JSON.stringify(statements, null, 2)}\n`);
    return 0;
  },
};

export const policyFmtCommand: CliCommand = {
  name: "policy fmt",
  summary: "format the Rego sources with the pinned opa (opa fmt)",
  usage: `usage: custos policy fmt [DIR] [--write | --diff]

Lists the Rego files under DIR (default policy/, build/ and dist/ left out) that are not in opa fmt's
canonical form and exits 1 when there are any; --write rewrites them, --diff prints the changes.`,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { write: "boolean", diff: "boolean" });
    const dir = resolve(positionals[0] ?? DEFAULT_POLICY_DIR);
    const mode = flags.write === true ? "write" : flags.diff === true ? "diff" : "list";
    const run = formatPolicies(dir, mode);
    process.stdout.write(run.stdout);
    process.stderr.write(run.stderr);
    if (run.exitCode !== 0) return run.exitCode;
    return mode !== "write" && run.stdout.trim() !== "" ? 1 : 0;
  },
};

export const policyCheckCommand: CliCommand = {
  name: "policy check",
  summary: "check the Rego sources strictly (opa check --strict)",
  usage: `usage: custos policy check [DIR]

Runs the pinned opa's check --strict on DIR (default policy/): parse and type errors, and what strict mode
adds (unused local variables and imports, duplicate imports, deprecated built-ins, shadowed input/data).
Exits 1 naming each problem.`,
  async run(argv) {
    const { positionals } = parseFlags(argv, {});
    const run = checkPolicies(resolve(positionals[0] ?? DEFAULT_POLICY_DIR));
    process.stdout.write(run.stdout);
    process.stderr.write(run.stderr);
    if (run.exitCode === 0) process.stdout.write("ok: opa check --strict found no problem\n");
    return run.exitCode === 0 ? 0 : 1;
  },
};
