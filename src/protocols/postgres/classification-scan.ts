// The classification scan: samples every table the connection's account can read (bounded rows and value
// length, read-only transaction, statement timeout, on the catalog connection) and runs the validated
// detectors over each column, so a column nobody named (`memo` holding SSNs) is known as sensitive. The
// findings label columns for the statement resolver (refusals) and the policy's mask rules (masking).
// Only counts leave this file: no sampled value is kept, logged or reported.
import type postgres from "postgres";
import type { MaskingEngine } from "../../masking/engine.ts";
import { type ActiveDetector, scanValue } from "../../masking/scan.ts";

export interface ScanSettings {
  /** Rows sampled per table. */
  sampleRows: number;
  /** Tables sampled per scan (the rest are reported as skipped). */
  maxTables: number;
  /** Bytes of each value the detectors see. */
  maxValueBytes: number;
}

export interface ColumnFinding {
  /** `schema.table.column`. */
  column: string;
  /** Detector names that found values (`ssn`, `card`, `iban`, `email`, `phone`, custom ones). */
  labels: string[];
  /** Sampled values that held a hit, per label, and non-null values sampled. */
  hits: Record<string, number>;
  sampled: number;
}

export interface ScanReport {
  connection: string;
  startedAt: string;
  finishedAt: string;
  tablesScanned: number;
  tablesSkipped: number;
  sampleRows: number;
  findings: ColumnFinding[];
  /** Tables that could not be sampled, with the server's message (names only, never values). */
  errors: { table: string; error: string }[];
}

export const DEFAULT_SCAN: ScanSettings = { sampleRows: 200, maxTables: 500, maxValueBytes: 4096 };

const quote = (id: string) => `"${id.replaceAll('"', '""')}"`;

/** A column holds a class when at least this share of its sampled values (and at least one) hit it. */
const MIN_SHARE = 0.05;

export async function scanConnection(
  sql: postgres.Sql,
  connection: string,
  engine: MaskingEngine,
  settings: ScanSettings,
): Promise<ScanReport> {
  const startedAt = new Date().toISOString();
  const detectors: ActiveDetector[] = [...engine.registry.entries()].map(([, d], index) => ({
    detector: d.detector,
    method: "redact",
    index,
  }));
  const tables = await sql<{ nspname: string; relname: string; cols: string[] }[]>`
    select n.nspname::text, c.relname::text,
           array_agg(a.attname::text order by a.attnum) as cols
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    where c.relkind in ('r', 'p', 'm', 'f')
      and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
      and has_table_privilege(c.oid, 'select')
    group by n.nspname, c.relname
    order by n.nspname, c.relname`;
  const findings: ColumnFinding[] = [];
  const errors: ScanReport["errors"] = [];
  const selected = tables.slice(0, settings.maxTables);
  for (const t of selected) {
    const name = `${t.nspname}.${t.relname}`;
    const list = t.cols.map((c) => `left(${quote(c)}::text, ${settings.maxValueBytes})`).join(", ");
    let rows: unknown[][];
    try {
      rows = await sql.begin("read only", async (tx) => {
        await tx.unsafe("set local statement_timeout = '10s'").simple();
        return (await tx
          .unsafe(`select ${list} from ${quote(t.nspname)}.${quote(t.relname)} limit ${settings.sampleRows}`)
          .values()) as unknown as unknown[][];
      });
    } catch (err) {
      errors.push({ table: name, error: err instanceof Error ? err.message : String(err) });
      continue;
    }
    t.cols.forEach((col, i) => {
      const finding = classifyColumn(rows, i, detectors);
      if (finding) findings.push({ column: `${name}.${col}`, ...finding });
    });
  }
  return {
    connection,
    startedAt,
    finishedAt: new Date().toISOString(),
    tablesScanned: selected.length - errors.length,
    tablesSkipped: tables.length - selected.length,
    sampleRows: settings.sampleRows,
    findings,
    errors,
  };
}

function classifyColumn(
  rows: unknown[][],
  index: number,
  detectors: ActiveDetector[],
): Omit<ColumnFinding, "column"> | null {
  const encoder = new TextEncoder();
  const counts = new Uint32Array(detectors.length);
  const perValue = new Uint32Array(detectors.length);
  const spans: number[] = [];
  let sampled = 0;
  for (const row of rows) {
    const v = row[index];
    if (v === null || v === undefined) continue;
    sampled++;
    const bytes = encoder.encode(String(v));
    perValue.fill(0);
    scanValue(bytes, 0, bytes.length, detectors, 0, spans, perValue);
    for (let d = 0; d < detectors.length; d++) if (perValue[d]! > 0) counts[d]!++;
  }
  const hits: Record<string, number> = {};
  const labels: string[] = [];
  detectors.forEach((d, i) => {
    const n = counts[i]!;
    if (n > 0 && n >= Math.ceil(sampled * MIN_SHARE)) {
      labels.push(d.detector.name);
      hits[d.detector.name] = n;
    }
  });
  return labels.length ? { labels, hits, sampled } : null;
}
