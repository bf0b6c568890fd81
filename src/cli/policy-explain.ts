// `custos policy explain SEQ`: why a logged statement got its decision. The statement event names the input
// it was decided on (input_digest) and the bundle (bundle); the policy.input event holds that input's JSON.
// The input is evaluated again by the same WASM the gateway ran, and, with the pinned OPA on the bundle's own
// Rego sources, every rule entry that fired is listed in the order the pack picks from them.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { decodeEvent } from "../audit/codec.ts";
import type { AuditStore } from "../audit/store.ts";
import type { AuditEvent } from "../core/audit-event.ts";
import { createLogger } from "../core/log.ts";
import { readBundle } from "../policy/bundle.ts";
import { PolicyEngine } from "../policy/engine.ts";
import { DEFAULT_BUNDLE, ensureOpa } from "../policy/opa.ts";
import { SHIPPED_BUNDLE } from "../policy/shipped.ts";
import { ownLogId } from "./audit-trust.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";
import { withStore } from "./store-access.ts";

interface Entry {
  rule: string;
  reason: string;
  priority?: number;
}

export interface FiredRules {
  denials: Entry[];
  reviews: Entry[];
  /** The agents' read-only catch-all: counts only when no specific denial fired. */
  catchAll: Entry[];
  mask: unknown[];
  invalid: string[];
}

const SCAN_CHUNK = 1_000;

const EXPLAIN_MODULE = `package custos_explain

default denials := set()

denials := data.custos.specific_denials

default reviews := set()

reviews := data.custos.reviews

default catch_all := set()

catch_all := data.custos.catch_all_denials

default mask := set()

mask := data.custos.mask

default invalid := set()

invalid := data.custos.invalid_outputs
`;

export const policyExplainCommand: CliCommand = {
  name: "policy explain",
  summary: "re-evaluate a logged decision and show which rules fired",
  usage: `usage: custos policy explain SEQ --config FILE [--log LOG_ID] [--bundle FILE] [--json]

Reads statement event SEQ (default log: this gateway's), the policy.input event its input_digest names
(checked against the digest) and the policy bundle its hash names (--bundle, policy.bundle of the config,
the shipped pack or policy/build, whichever has that SHA-256). Evaluates the input again with the bundle's
WASM, says whether the decision is the one logged, and lists every denial, review and mask rule that fired,
in the order the pack decides (priority, pack before local, rule name), from the bundle's own Rego
sources with the pinned opa. A cached decision names the input it was first decided on: the literals of
the SQL may differ, the statement's shape does not. Exits 1 when the input or the bundle cannot be found.`,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, {
      config: "string",
      log: "string",
      bundle: "string",
      json: "boolean",
    });
    const seq = Number(positionals[0]);
    if (!Number.isSafeInteger(seq) || seq < 0) throw new CliError("policy explain needs an event SEQ", 2);
    return withStore(flags.config, async (store, config) => {
      const logId = typeof flags.log === "string" ? flags.log : ownLogId(config);
      if (!logId) throw new CliError("this data_dir has no log yet: name one with --log LOG_ID", 2);
      const event = await eventAt(store, logId, seq);
      if (!event) throw new CliError(`event #${seq} is not in log ${logId}`);
      if (event.type !== "statement") throw new CliError(`event #${seq} is a ${event.type}, not a statement`);
      const digest = event.data.input_digest;
      if (typeof digest !== "string")
        throw new CliError(
          `statement #${seq} names no policy input (decided before inputs were logged, or refused before evaluation: rule ${String(event.data.rule)})`,
        );
      const found = await findInput(store, logId, seq, event.sessionId, digest);
      if (!found) throw new CliError(`no policy.input event with digest ${digest} in log ${logId}`);
      const bundleHash = String(event.data.bundle ?? "");
      const candidates = [
        typeof flags.bundle === "string" ? resolve(flags.bundle) : null,
        config.policy.bundle,
        SHIPPED_BUNDLE,
        DEFAULT_BUNDLE,
      ].filter((p): p is string => typeof p === "string" && existsSync(p));
      const bundlePath = candidates.find((p) => sha256(readFileSync(p)) === bundleHash);
      if (!bundlePath)
        throw new CliError(
          `the bundle that decided (${bundleHash.slice(0, 16)}…) is none of: ${candidates.join(", ") || "(no bundle files)"}; pass it with --bundle FILE`,
        );
      const engine = new PolicyEngine({ logger: createLogger("error") });
      const loaded = await engine.load(bundlePath);
      if (!loaded.ok) throw new CliError(loaded.error.message);
      const bytes = new TextEncoder().encode(found.json);
      const again = engine.evaluate(bytes.buffer as ArrayBuffer);
      const same = again.action === event.data.action && again.rule === event.data.rule;
      let fired: FiredRules | null = null;
      let firedError: string | null = null;
      try {
        fired = firedRules(readFileSync(bundlePath), found.json);
      } catch (err) {
        firedError = err instanceof Error ? err.message : String(err);
      }
      const out = {
        seq,
        log_id: logId,
        session_id: event.sessionId ?? null,
        text: event.data.text ?? null,
        logged: { action: event.data.action, rule: event.data.rule, reason: event.data.reason },
        approval: event.data.approval ?? null,
        bundle: bundleHash,
        bundle_file: bundlePath,
        input_digest: digest,
        input_seq: found.seq,
        input: JSON.parse(found.json),
        reevaluated: { action: again.action, rule: again.rule, reason: again.reason, mask: again.mask },
        same,
        fired,
        fired_error: firedError,
      };
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return same ? 0 : 1;
      }
      process.stdout.write(`${describe(out, fired, precedence(readFileSync(bundlePath)))}\n`);
      return same ? 0 : 1;
    });
  },
};

async function eventAt(store: AuditStore, logId: string, seq: number): Promise<AuditEvent | null> {
  const rows = await store.readEvents(logId, seq, 1);
  const row = rows[0];
  if (!row || row.seq !== seq || row.body.length === 0) return null;
  return decodeEvent(row.body);
}

/** The session's events first (where the input usually is), then the log backwards from SEQ. */
async function findInput(
  store: AuditStore,
  logId: string,
  seq: number,
  sessionId: string | undefined,
  digest: string,
): Promise<{ json: string; seq: number } | null> {
  const matches = (e: AuditEvent) =>
    e.type === "policy.input" && e.data.digest === digest && typeof e.data.input === "string";
  // The digest is checked, not trusted: the bytes evaluated again are the bytes that were digested.
  const checked = (json: string) => sha256(new TextEncoder().encode(json)) === digest;
  if (sessionId) {
    for (const e of await store.sessionEvents(sessionId)) {
      if (e.logId === logId && matches(e) && checked(e.data.input as string))
        return { json: e.data.input as string, seq: e.seq };
    }
  }
  for (let to = seq; to > 0; to -= SCAN_CHUNK) {
    const from = Math.max(0, to - SCAN_CHUNK);
    const rows = await store.readEvents(logId, from, to - from);
    for (const row of rows.reverse()) {
      if (row.body.length === 0) continue;
      const e = decodeEvent(row.body);
      if (matches(e) && checked(e.data.input as string))
        return { json: e.data.input as string, seq: row.seq };
    }
  }
  return null;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Every denial, review and mask entry the bundle's Rego emits for the input, by the pinned opa. */
export function firedRules(bundleFile: Uint8Array, inputJson: string): FiredRules {
  const bundle = readBundle(bundleFile);
  if (bundle.sources.size === 0) throw new Error("the bundle carries no Rego sources");
  const dir = mkdtempSync(join(tmpdir(), "custos-explain-"));
  try {
    for (const [path, text] of bundle.sources) {
      const file = join(dir, "src", path.replace(/^\/+/, ""));
      Bun.spawnSync(["mkdir", "-p", dirname(file)]);
      writeFileSync(file, text);
    }
    writeFileSync(join(dir, "src", "data.json"), JSON.stringify(bundle.data ?? {}));
    writeFileSync(join(dir, "input.json"), inputJson);
    // Defaults keep a pack without one of these rules (a custom one) explainable.
    writeFileSync(join(dir, "src", "custos_explain.rego"), EXPLAIN_MODULE);
    const query = "data.custos_explain";
    const run = Bun.spawnSync(
      [ensureOpa(), "eval", "--format", "json", "-d", join(dir, "src"), "-i", join(dir, "input.json"), query],
      { stdout: "pipe", stderr: "pipe" },
    );
    if (run.exitCode !== 0)
      throw new Error(
        `opa eval failed: ${(run.stderr.toString() || run.stdout.toString()).trim().slice(0, 2000)}`,
      );
    const value = JSON.parse(run.stdout.toString()).result?.[0]?.expressions?.[0]?.value;
    if (!value) throw new Error("opa eval returned no result");
    return {
      denials: value.denials,
      reviews: value.reviews,
      catchAll: value.catch_all,
      mask: value.mask,
      invalid: value.invalid,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Precedence {
  priority(e: Entry): number;
  /** The pack's own rules: those lists.rule_priority names. */
  pack: Set<string>;
}

function precedence(bundleFile: Uint8Array): Precedence {
  const data = readBundle(bundleFile).data as { custos?: { lists?: Record<string, unknown> } } | null;
  const lists = (data?.custos?.lists ?? {}) as {
    rule_priority?: Record<string, number>;
    default_rule_priority?: number;
  };
  return {
    priority: (e) =>
      typeof e.priority === "number"
        ? e.priority
        : (lists.rule_priority?.[e.rule] ?? lists.default_rule_priority ?? 50),
    pack: new Set(Object.keys(lists.rule_priority ?? {})),
  };
}

/** Pack order: priority, then the pack's rules before local ones, rule name, reason (decision.rego `first`). */
export function ordered(entries: Entry[], priority: (e: Entry) => number, packRules: Set<string>): Entry[] {
  const key = (e: Entry) => [priority(e), packRules.has(e.rule) ? 0 : 1] as const;
  return [...entries].sort((a, b) => {
    const [pa, oa] = key(a);
    const [pb, ob] = key(b);
    return pa - pb || oa - ob || a.rule.localeCompare(b.rule) || a.reason.localeCompare(b.reason);
  });
}

function describe(
  out: {
    seq: number;
    session_id: string | null;
    text: unknown;
    logged: { action: unknown; rule: unknown; reason: unknown };
    approval: unknown;
    bundle: string;
    input_digest: string;
    input_seq: number;
    reevaluated: { action: string; rule: string; reason: string; mask: unknown[] };
    same: boolean;
    fired_error: string | null;
  },
  fired: FiredRules | null,
  { priority, pack }: Precedence,
): string {
  const approval = out.approval as { id?: string; status?: string } | null;
  const lines = [
    `statement   #${out.seq} in session ${out.session_id ?? "-"}`,
    `text        ${String(out.text ?? "")}`,
    `logged      ${out.logged.action} ${out.logged.rule}: ${out.logged.reason}${approval ? ` (review ${approval.status} as request ${approval.id})` : ""}`,
    `bundle      ${out.bundle}`,
    `input       sha256 ${out.input_digest} (policy.input #${out.input_seq})`,
    `re-evaluated ${out.reevaluated.action} ${out.reevaluated.rule}: ${out.reevaluated.reason}`,
    out.same ? "            the same decision as logged" : "            DIFFERENT from the decision logged",
  ];
  if (fired) {
    const all = [...fired.denials, ...fired.reviews, ...fired.catchAll];
    lines.push("rules that fired, in the order the pack decides (denials before reviews):");
    if (fired.invalid.length > 0)
      lines.push(`  malformed output: ${fired.invalid.join(", ")} → custos.invalid_decision`);
    const row = (kind: string, e: Entry) =>
      `  ${kind.padEnd(7)} ${String(priority(e)).padStart(3)}  ${e.rule.padEnd(34)} ${e.reason}`;
    for (const e of ordered(fired.denials, priority, pack)) lines.push(row("deny", e));
    for (const e of ordered(fired.catchAll, priority, pack))
      lines.push(
        `${row("deny", e)}${fired.denials.length > 0 ? "   (catch-all: not counted, a specific rule denied)" : ""}`,
      );
    for (const e of ordered(fired.reviews, priority, pack)) lines.push(row("review", e));
    if (all.length === 0) lines.push("  none: allowed");
    if (fired.mask.length > 0)
      lines.push(
        `masks       ${fired.mask
          .map((m) => {
            const x = m as Record<string, string>;
            return `${x.column ?? `detector:${x.detector}`} ${x.method}`;
          })
          .join(", ")}`,
      );
  } else {
    lines.push(`rules that fired: not listed (${out.fired_error})`);
  }
  return lines.join("\n");
}
