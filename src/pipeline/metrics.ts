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

  countStatement(action: string): void {
    this.statements.set(action, (this.statements.get(action) ?? 0) + 1);
  }

  countAuthFailure(code: string): void {
    this.authFailures.set(code, (this.authFailures.get(code) ?? 0) + 1);
  }

  render(audit: RecorderStats, extra: { policyLoaded: boolean; siem?: SinkStats[] }): string {
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
