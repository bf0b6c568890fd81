// Gateway counters, rendered in the Prometheus text exposition format. Counters are plain numbers bumped
// on the hot path; rendering happens only when /metrics is scraped.
import type { RecorderStats } from "../audit/recorder-stats.ts";
import type { SinkStats } from "../audit/siem/streamer.ts";

export class Metrics {
  sessionsActive = 0;
  sessionsTotal = 0;
  statements = new Map<string, number>(); // by action
  authFailures = new Map<string, number>(); // by code
  bytesFromClients = 0;
  bytesToClients = 0;
  denials = new Map<string, number>(); // by rule
  policyReloads = new Map<string, number>([
    ["success", 0],
    ["refused", 0],
  ]);
  /** Time the gateway spends deciding a command before it may be forwarded (classify, policy, cache). */
  readonly decisionSeconds = new Histogram([0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1]);

  countStatement(action: string, rule?: string): void {
    this.statements.set(action, (this.statements.get(action) ?? 0) + 1);
    // Rules are the pack's and the institution's own names: bounded, but capped anyway.
    if (action === "deny" && rule && (this.denials.has(rule) || this.denials.size < MAX_RULES))
      this.denials.set(rule, (this.denials.get(rule) ?? 0) + 1);
  }

  countPolicyReload(ok: boolean): void {
    const k = ok ? "success" : "refused";
    this.policyReloads.set(k, (this.policyReloads.get(k) ?? 0) + 1);
  }

  countAuthFailure(code: string): void {
    this.authFailures.set(code, (this.authFailures.get(code) ?? 0) + 1);
  }

  render(
    audit: RecorderStats,
    extra: {
      policyLoaded: boolean;
      siem?: SinkStats[];
      /** SHA-256 of the bundle in force, for custos_policy_info. */
      policyHash?: string | null;
      /** Statements this gateway holds for review now. */
      pendingApprovals?: number;
    },
  ): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    const by = (label: string, m: Map<string, number>): [string, number][] =>
      [...m].map(([k, v]) => [`{${label}="${k}"}`, v]);
    metric("custos_sessions_active", "gauge", "Sessions open now.", [["", this.sessionsActive]]);
    metric("custos_sessions_total", "counter", "Sessions opened.", [["", this.sessionsTotal]]);
    metric(
      "custos_statements_total",
      "counter",
      "Commands decided, by action.",
      by("action", this.statements),
    );
    metric(
      "custos_auth_failures_total",
      "counter",
      "Refused connections, by reason.",
      by("code", this.authFailures),
    );
    metric("custos_bytes_total", "counter", "Bytes relayed, by direction.", [
      ['{direction="from_client"}', this.bytesFromClients],
      ['{direction="to_client"}', this.bytesToClients],
    ]);
    metric("custos_audit_queue_depth", "gauge", "Audit events and frames accepted but not committed.", [
      ["", audit.queueDepth],
    ]);
    metric("custos_audit_writable", "gauge", "1 when the audit store accepts writes.", [
      ["", audit.writable ? 1 : 0],
    ]);
    metric("custos_audit_events_total", "counter", "Audit events committed.", [["", audit.committedEvents]]);
    metric("custos_audit_frames_total", "counter", "Recording frames committed.", [
      ["", audit.committedFrames],
    ]);
    metric("custos_audit_commit_failures_total", "counter", "Failed audit commits.", [["", audit.failures]]);
    metric("custos_policy_loaded", "gauge", "1 when a policy bundle is loaded.", [
      ["", extra.policyLoaded ? 1 : 0],
    ]);
    if (extra.policyHash)
      metric("custos_policy_info", "gauge", "The policy bundle in force, by SHA-256.", [
        [`{hash="${extra.policyHash}"}`, 1],
      ]);
    metric(
      "custos_policy_reloads_total",
      "counter",
      "Policy reloads (SIGHUP, watch), by result.",
      by("result", this.policyReloads),
    );
    metric(
      "custos_denials_total",
      "counter",
      "Commands denied, by the rule that decided.",
      [...this.denials].map(([k, v]) => [`{rule="${k.replace(/["\\\n]/g, "_")}"}`, v]),
    );
    if (extra.pendingApprovals !== undefined)
      metric("custos_approvals_pending", "gauge", "Statements held for review on this gateway now.", [
        ["", extra.pendingApprovals],
      ]);
    this.decisionSeconds.render(
      lines,
      "custos_decision_seconds",
      "Latency the gateway adds per command before forwarding it: classification and policy decision.",
    );
    if (extra.siem) {
      const sink = (f: (s: SinkStats) => number): [string, number][] =>
        extra.siem!.map((s) => [`{sink="${s.name.replace(/["\\\n]/g, "_")}"}`, f(s)]);
      metric(
        "custos_siem_lag_seconds",
        "gauge",
        "Age of the oldest audit event a SIEM sink has not yet acknowledged.",
        sink((s) => s.lagSeconds),
      );
      metric(
        "custos_siem_delivery_failures_total",
        "counter",
        "Failed SIEM deliveries (each retried).",
        sink((s) => s.failures),
      );
      metric(
        "custos_siem_delivered_total",
        "counter",
        "Records (events and checkpoints) a SIEM sink acknowledged.",
        sink((s) => s.delivered),
      );
    }
    const h = audit.commitLatencyHistogram;
    lines.push(
      "# HELP custos_audit_commit_seconds Audit store commit latency.",
      "# TYPE custos_audit_commit_seconds histogram",
    );
    for (const [i, le] of h.le.entries()) {
      lines.push(`custos_audit_commit_seconds_bucket{le="${le / 1000}"} ${h.counts[i] ?? 0}`);
    }
    lines.push(`custos_audit_commit_seconds_bucket{le="+Inf"} ${h.counts[h.le.length] ?? h.count}`);
    lines.push(
      `custos_audit_commit_seconds_sum ${h.sum / 1000}`,
      `custos_audit_commit_seconds_count ${h.count}`,
    );
    return `${lines.join("\n")}\n`;
  }
}

const MAX_RULES = 256;

/** A cumulative histogram in seconds; observe() is two array writes (hot path). */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(private readonly le: number[]) {
    this.counts = le.map(() => 0);
  }

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < this.le.length; i++) {
      if (seconds <= this.le[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  render(lines: string[], name: string, help: string): void {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    let cumulative = 0;
    for (const [i, le] of this.le.entries()) {
      cumulative += this.counts[i]!;
      lines.push(`${name}_bucket{le="${le}"} ${cumulative}`);
    }
    lines.push(
      `${name}_bucket{le="+Inf"} ${this.count}`,
      `${name}_sum ${this.sum}`,
      `${name}_count ${this.count}`,
    );
  }
}
