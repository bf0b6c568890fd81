// `custos connections classify NAME`: the classification of a PostgreSQL connection — the column labels
// its configuration gives and the findings of the latest classification scan the gateway recorded in the
// audit log (classification.scan), or with --scan a scan run now (the gateway's own: bounded samples of
// every readable table, the validated detectors, read-only transactions; not recorded). Prints column
// names, classes and counts, never a sampled value.
import postgres from "postgres";
import { decodeEvent } from "../audit/codec.ts";
import type { AuditStore } from "../audit/store.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/types.ts";
import { MaskingEngine } from "../masking/engine.ts";
import { DEFAULT_SCAN, type ScanReport, scanConnection } from "../protocols/postgres/classification-scan.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";
import { withStore } from "./store-access.ts";

type Finding = { column: string; labels: string[]; hits: Record<string, number>; sampled: number };
interface Shown {
  source: string;
  tables: number;
  findings: Finding[];
  errors: string[];
}

/** The newest classification.scan event of a connection, reading the log from its end. */
async function latestScan(
  store: AuditStore,
  name: string,
): Promise<{ time: number; data: Record<string, unknown> } | null> {
  let best: { time: number; data: Record<string, unknown> } | null = null;
  for (const log of await store.logs()) {
    for (let end = await store.logSize(log.logId); end > 0; ) {
      const from = Math.max(0, end - 1000);
      const rows = await store.readEvents(log.logId, from, end - from);
      const found = rows
        .map((r) => decodeEvent(r.body))
        .filter(
          (e) => e.type === "classification.scan" && (e.data as { connection?: string }).connection === name,
        )
        .pop();
      if (found) {
        if (!best || found.time > best.time)
          best = { time: found.time, data: found.data as Record<string, unknown> };
        break;
      }
      end = from;
    }
  }
  return best;
}

export const connectionsClassifyCommand: CliCommand = {
  name: "connections classify",
  summary: "show where a PostgreSQL connection's regulated data is (labels and a fresh scan)",
  usage: `usage: custos connections classify NAME --config FILE [--scan [--sample-rows N]] [--json]

Prints NAME's configured column_labels and the findings of the gateway's latest classification scan, read
from the audit log. With --scan, connects to NAME's upstream with its configured account, samples up to N
rows (default classification.sample_rows) of every table it can read and prints what the detectors find.`,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, {
      config: "string",
      "sample-rows": "string",
      scan: "boolean",
      json: "boolean",
    });
    const name = positionals[0];
    if (!name) throw new CliError("connections classify needs a connection NAME", 2);
    if (typeof flags.config !== "string") throw new CliError("needs --config FILE", 2);
    let shown: Shown | null;
    let configured: { column: string; labels: string[] }[];
    if (flags.scan) {
      const config = loadConfig(flags.config);
      const conn = config.connections.find((c) => c.name === name);
      if (!conn) throw new CliError(`no PostgreSQL connection ${name} in ${flags.config}`);
      const sampleRows =
        flags["sample-rows"] === undefined ? conn.classification.sampleRows : Number(flags["sample-rows"]);
      if (!Number.isInteger(sampleRows) || sampleRows < 1)
        throw new CliError("--sample-rows must be a positive integer", 2);
      configured = Object.entries(conn.columnLabels).map(([column, labels]) => ({ column, labels }));
      const report = await scanNow(config, name, sampleRows);
      shown = {
        source: `scan now (${sampleRows} rows per table)`,
        tables: report.tablesScanned,
        findings: report.findings,
        errors: report.errors.map((e) => `${e.table}: ${e.error}`),
      };
    } else {
      [shown, configured] = await withStore(flags.config, async (store, config) => {
        const conn = config.connections.find((c) => c.name === name);
        if (!conn) throw new CliError(`no PostgreSQL connection ${name} in ${flags.config}`);
        const labels = Object.entries(conn.columnLabels).map(([column, l]) => ({ column, labels: l }));
        const e = await latestScan(store, name);
        if (!e) return [null, labels] as const;
        const d = e.data as { tables_scanned?: number; findings?: Finding[]; errors?: string[] };
        const s: Shown = {
          source: `gateway scan of ${new Date(e.time).toISOString()} (audit log)`,
          tables: d.tables_scanned ?? 0,
          findings: d.findings ?? [],
          errors: d.errors ?? [],
        };
        return [s, labels] as const;
      });
    }
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ connection: name, configured, scan: shown }, null, 2)}\n`);
      return 0;
    }
    const lines = [
      shown
        ? `connection ${name}: ${shown.source}, ${shown.tables} tables sampled`
        : `connection ${name}: no classification scan recorded yet (run with --scan to scan now)`,
    ];
    for (const c of configured) lines.push(`  ${c.column}  ${c.labels.join(",")}  (configured)`);
    for (const f of shown?.findings ?? [])
      lines.push(
        `  ${f.column}  ${f.labels.join(",")}  (scan: ${Object.values(f.hits).join("/")} of ${f.sampled} values)`,
      );
    if (configured.length + (shown?.findings.length ?? 0) === 0)
      lines.push("  no column known to hold regulated data");
    for (const e of shown?.errors ?? []) lines.push(`  not sampled: ${e}`);
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  },
};

async function scanNow(config: Config, name: string, sampleRows: number): Promise<ScanReport> {
  const conn = config.connections.find((c) => c.name === name)!;
  const t = conn.target;
  const sql = postgres({
    host: t.host,
    port: t.port,
    user: t.user,
    pass: t.password?.reveal() ?? "",
    database: t.database,
    ssl:
      t.tls === "disable" || t.tls === "prefer"
        ? false
        : t.tls === "require"
          ? { rejectUnauthorized: false }
          : { ca: t.ca ?? undefined, rejectUnauthorized: true },
    max: 1,
    onnotice: () => {},
    connection: { application_name: "custos-classify" },
  });
  try {
    const engine = new MaskingEngine({ detectors: config.masking.detectors });
    return await scanConnection(sql, name, engine, {
      ...DEFAULT_SCAN,
      sampleRows,
      maxTables: conn.classification.maxTables,
    });
  } catch (err) {
    throw new CliError(
      `classification of ${name} failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  } finally {
    await sql.end({ timeout: 2 });
  }
}
