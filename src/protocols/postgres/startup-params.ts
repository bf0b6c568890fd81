// Start-up parameters are input like any statement: an allow-list, never a pass-through. The packet's own
// parameters and the settings inside `options` (`-c name=value`, `--name=value`, spaces escaped with a
// backslash as libpq sends them) are read as PostgreSQL reads them (pg_split_opts, process_postgres_switches,
// ParseLongOption), and each setting must be one this list names; anything else is refused with a FATAL
// naming it, never dropped. Settings the parser relies on must have the value it assumes, for everyone.
// Pure: the session decides the allowed ones with the policy (the equivalent SET) and bounds agents'
// time-outs (startup-limits.ts).
import { CustosError } from "../../core/errors.ts";
import { isParserSetting, parserAssumes } from "../../sql/parser-settings.ts";

export interface StartupSetting {
  /** Lower-case GUC name, as PostgreSQL compares them. */
  name: string;
  value: string;
}

/**
 * Settings a client may pass at start-up (the drivers' usual ones: libpq, pgJDBC, node-postgres,
 * postgres.js, pgx, psycopg, asyncpg). search_path and the time-outs are decided per identity later.
 */
export const STARTUP_SETTINGS: ReadonlySet<string> = new Set([
  "application_name",
  "client_encoding",
  "datestyle",
  "timezone",
  "intervalstyle",
  "extra_float_digits",
  "statement_timeout",
  "lock_timeout",
  "idle_in_transaction_session_timeout",
  "idle_session_timeout",
  "search_path",
  "standard_conforming_strings",
  "client_min_messages",
  // Transaction defaults node-postgres and pgJDBC can set at start-up; decided as their SET (agents: refused
  // unless the pack lists them).
  "default_transaction_isolation",
  "default_transaction_read_only",
  "default_transaction_deferrable",
]);

/**
 * Settings that only shape how values are shown or named (and the parser's own, checked here): forwarded
 * without asking the policy, as every driver sends some of them. The others are decided as their SET.
 */
export const PRESENTATION_SETTINGS: ReadonlySet<string> = new Set([
  "application_name",
  "client_encoding",
  "datestyle",
  "timezone",
  "intervalstyle",
  "extra_float_digits",
  "standard_conforming_strings",
  "client_min_messages",
]);

/** Packet keys the gateway itself consumes or answers; everything else is a setting. */
const GATEWAY_KEYS = new Set(["user", "database", "options", "replication"]);

const FALSE_WORDS = new Set(["false", "off", "no", "0", "f", "n"]);

/** pg_split_opts: whitespace separates arguments, a backslash makes the next character literal. */
export function splitOptions(options: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inArg = false;
  for (let i = 0; i < options.length; i++) {
    const c = options[i]!;
    if (c === "\\" && i + 1 < options.length) {
      cur += options[++i];
      inArg = true;
    } else if (/\s/.test(c)) {
      if (inArg) out.push(cur);
      cur = "";
      inArg = false;
    } else {
      cur += c;
      inArg = true;
    }
  }
  if (inArg) out.push(cur);
  return out;
}

const refused = (message: string) => new CustosError("access.forbidden", message);

/** `name=value` of a -c or -- switch (ParseLongOption: dashes in the name are underscores). */
function longOption(text: string, switchName: string): StartupSetting {
  const eq = text.indexOf("=");
  if (eq <= 0) {
    throw refused(
      `start-up option ${switchName}${text} is not permitted through Custos (expected name=value)`,
    );
  }
  return { name: text.slice(0, eq).replaceAll("-", "_").toLowerCase(), value: text.slice(eq + 1) };
}

/** The settings of an `options` string; throws on any switch other than -c and --name=value. */
export function optionSettings(options: string): StartupSetting[] {
  const args = splitOptions(options);
  const out: StartupSetting[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "-c") {
      const next = args[++i];
      if (next === undefined) throw refused("start-up option -c needs name=value");
      out.push(longOption(next, "-c "));
    } else if (arg.startsWith("-c")) out.push(longOption(arg.slice(2), "-c"));
    else if (arg.startsWith("--")) out.push(longOption(arg.slice(2), "--"));
    else throw refused(`start-up option ${JSON.stringify(arg)} is not permitted through Custos`);
  }
  return out;
}

/**
 * The settings of a start-up packet, in the order PostgreSQL applies them (`options` first, then the
 * packet's own; a later one wins). Throws a CustosError naming the first refused parameter.
 */
export function startupSettings(params: Record<string, string>): StartupSetting[] {
  const replication = params.replication;
  if (replication !== undefined && !FALSE_WORDS.has(replication.trim().toLowerCase())) {
    throw new CustosError(
      "protocol.unsupported",
      `replication connections (replication=${replication}) are not supported through Custos`,
    );
  }
  const settings: StartupSetting[] = params.options ? optionSettings(params.options) : [];
  for (const [key, value] of Object.entries(params)) {
    if (GATEWAY_KEYS.has(key) || key.startsWith("_pq_.")) continue;
    settings.push({ name: key.toLowerCase(), value });
  }
  const byName = new Map<string, StartupSetting>();
  for (const s of settings) {
    if (!STARTUP_SETTINGS.has(s.name)) {
      throw refused(`start-up parameter "${s.name}" is not permitted through Custos`);
    }
    if (isParserSetting(s.name) && !parserAssumes(s.name, s.value)) {
      throw new CustosError(
        "protocol.unsupported",
        `${s.name} ${JSON.stringify(s.value)} is not supported through Custos: the gateway reads SQL as the ` +
          `server does only with ${s.name === "client_encoding" ? "client_encoding UTF8" : `${s.name} on`}`,
      );
    }
    byName.delete(s.name);
    byName.set(s.name, s);
  }
  return [...byName.values()];
}

/**
 * What the gateway sends upstream: the allowed settings, then the parser's settings pinned, so a role's
 * or database's defaults cannot change them and RESET returns to them.
 */
export function upstreamSettings(settings: readonly StartupSetting[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of settings) out[s.name] = s.value;
  out.client_encoding = "UTF8";
  out.standard_conforming_strings = "on";
  return out;
}
