// Agents' statement_timeout and idle_in_transaction_session_timeout are bounded (limits.agent_*): the
// gateway sets the bound upstream at start-up, a client may ask for less, and asking for more or for 0
// (which PostgreSQL reads as "no limit") is refused with a FATAL naming the bound, never clamped silently.
// In a session agents may not SET either (the default pack's agent settings leave them out), and RESET
// returns to the start-up value.
import { CustosError } from "../../core/errors.ts";
import type { StartupSetting } from "./startup-params.ts";

export interface AgentTimeouts {
  statementTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
}

// guc.c memory/time units; a bare number is milliseconds for both settings.
const UNIT_MS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** PostgreSQL's reading of a time setting in milliseconds, or null when it is not one. */
export function parseTimeSetting(value: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  if (!m) return null;
  const unit = UNIT_MS[m[2]!.toLowerCase() || "ms"];
  return unit === undefined ? null : Number(m[1]) * unit;
}

/** Names the settings bounded for agents, with their bound. */
export function agentBounds(limits: AgentTimeouts): Map<string, number> {
  return new Map([
    ["statement_timeout", limits.statementTimeoutMs],
    ["idle_in_transaction_session_timeout", limits.idleInTransactionTimeoutMs],
  ]);
}

/** The agent's settings with both time-outs present and within bounds; throws naming the first one above. */
export function boundAgentTimeouts(
  settings: readonly StartupSetting[],
  limits: AgentTimeouts,
): StartupSetting[] {
  const bounds = agentBounds(limits);
  const out = settings.filter((s) => !bounds.has(s.name));
  for (const [name, bound] of bounds) {
    const asked = settings.find((s) => s.name === name);
    if (!asked) {
      out.push({ name, value: `${bound}ms` });
      continue;
    }
    const ms = parseTimeSetting(asked.value);
    if (ms === null || ms <= 0 || ms > bound) {
      throw new CustosError(
        "access.forbidden",
        `${name} ${JSON.stringify(asked.value)} is not permitted for agents: at most ${bound} ms (0 means no limit)`,
      );
    }
    out.push(asked);
  }
  return out;
}
