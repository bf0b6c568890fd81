// Builds the replay of a session: its statement events (the transcript: decision, rule, timing, outcome) each
// joined with what the recording shows the client received (columns, masked rows, errors, notices). Pure.
// Frames are grouped into exchanges ending at ReadyForQuery; statements claim exchanges in order by text.
// A command's masking event (written just before its statement event) says which columns and cells of its
// results were masked and by what: the replay marks them, so a masked date never reads as a real NULL.
import type { StoredEvent } from "../../audit/store.ts";
import type { Frame } from "../../core/frame.ts";
import { cellText } from "./json-value.ts";

export interface ReplayResult {
  columns: string[];
  rows: (string | null)[][];
  /** Rows recorded beyond those shown. */
  more: number;
  tags: string[];
  errors: { code: string; message: string }[];
  notices: string[];
  /** Per column: what masked values in it (`rule ssn: partial`, `detector email`), or null. */
  maskedColumns: (string | null)[];
  /** Per shown row and column: what masked that cell, or null for a cell the client received as it was. */
  masked: (string | null)[][];
}

export interface ReplayStep {
  index: number;
  /** Epoch ms the statement finished (its event time) and ms since the session started. */
  time: number;
  offsetMs: number;
  durationUs: number | null;
  text: string;
  action: string;
  rule: string | null;
  reason: string | null;
  tag: string | null;
  rowCount: number | null;
  error: string | null;
  result: ReplayResult | null;
  /** The statement was held for review: how that ended, who decided, and how long it waited. */
  approval: StepApproval | null;
  /** A review that could not be routed (no approvers, store down): the rule that asked for it. */
  unroutedReview: string | null;
  /** `interrupted` when the session ended while the statement ran or waited, and by what end reason. */
  outcome: string | null;
  interruptedBy: string | null;
}

export interface StepApproval {
  id: string;
  status: string;
  /** Subjects whose verdict decided it (approvers for approved, deniers for denied). */
  by: string[];
  /** Seconds from the request to its decision, when both events are in the session. */
  waitedS: number | null;
}

interface Exchange {
  text: string | null;
  /** A Query or Execute ran: a Parse/Describe/Sync round alone yields no statement outcome. */
  runs: boolean;
  server: Frame[];
}

export function buildReplay(
  events: StoredEvent[],
  frames: Frame[],
  startedAt: number,
  maxRows = 100,
): ReplayStep[] {
  const exchanges = groupExchanges(frames);
  const approvals = approvalsOf(events);
  let next = 0;
  const steps: ReplayStep[] = [];
  let masking: { text: string | null; results: unknown[] } | null = null;
  for (const e of events) {
    if (e.type === "masking") {
      masking = { text: str(e.data.text), results: Array.isArray(e.data.results) ? e.data.results : [] };
      continue;
    }
    if (e.type !== "statement") continue;
    const d = e.data;
    const text = str(d.text) ?? "";
    const evidence = masking?.text === text ? masking.results : [];
    masking = null;
    let result: ReplayResult | null = null;
    for (let i = next; i < exchanges.length; i++) {
      if (exchanges[i]!.runs && exchanges[i]!.text === text) {
        result = summarize(exchanges[i]!.server, maxRows, evidence);
        next = i + 1;
        break;
      }
    }
    steps.push({
      index: steps.length,
      time: e.time,
      offsetMs: e.time - startedAt,
      durationUs: num(d.duration_us),
      text,
      action: str(d.action) ?? "unknown",
      rule: str(d.rule),
      reason: str(d.reason),
      tag: str(d.tag),
      rowCount: num(d.rows),
      error: errorText(d.error),
      result,
      approval: stepApproval(d.approval, approvals),
      unroutedReview: str((d.review as { rule?: unknown } | undefined)?.rule),
      outcome: str(d.outcome),
      interruptedBy: str(d.interrupted_by),
    });
  }
  return steps;
}

interface ApprovalFacts {
  requestedAt?: number;
  decidedAt?: number;
  by: string[];
}

/** approval.requested and its outcome event (approved, denied, expired, abandoned), by request id. */
function approvalsOf(events: StoredEvent[]): Map<string, ApprovalFacts> {
  const out = new Map<string, ApprovalFacts>();
  for (const e of events) {
    if (!e.type.startsWith("approval.")) continue;
    const id = str(e.data.request_id);
    if (!id) continue;
    const f = out.get(id) ?? { by: [] };
    if (e.type === "approval.requested") f.requestedAt = e.time;
    else if (
      ["approval.approved", "approval.denied", "approval.expired", "approval.abandoned"].includes(e.type)
    ) {
      f.decidedAt = e.time;
      const verdict = e.type === "approval.approved" ? "approve" : "deny";
      const list = Array.isArray(e.data.approvers) ? (e.data.approvers as Record<string, unknown>[]) : [];
      f.by = list.filter((a) => a.verdict === verdict).map((a) => String(a.subject ?? ""));
    }
    out.set(id, f);
  }
  return out;
}

function stepApproval(raw: unknown, approvals: Map<string, ApprovalFacts>): StepApproval | null {
  if (!raw || typeof raw !== "object") return null;
  const a = raw as Record<string, unknown>;
  const id = str(a.id);
  if (!id) return null;
  const f = approvals.get(id);
  const waitedS =
    f?.requestedAt !== undefined && f.decidedAt !== undefined
      ? Math.round((f.decidedAt - f.requestedAt) / 1000)
      : null;
  return { id, status: str(a.status) ?? "unknown", by: f?.by ?? [], waitedS };
}

function groupExchanges(frames: Frame[]): Exchange[] {
  const out: Exchange[] = [];
  const prepared = new Map<string, string>();
  let current: Exchange | null = null;
  for (const f of frames) {
    if (f.dir === "client") {
      const text = f.kind === "Query" || f.kind === "Parse" ? str(f.data?.text) : null;
      if (f.kind === "Parse") prepared.set(str(f.data?.name) ?? "", text ?? "");
      const named = f.kind === "Bind" ? (prepared.get(str(f.data?.statement) ?? "") ?? null) : null;
      if (!current) {
        current = { text: text ?? named, runs: false, server: [] };
        out.push(current);
      } else if (current.text === null) current.text = text ?? named;
      if (f.kind === "Query" || f.kind === "Execute") current.runs = true;
      continue;
    }
    current?.server.push(f);
    if (f.kind === "ReadyForQuery") current = null;
  }
  return out;
}

function summarize(server: Frame[], maxRows: number, evidence: unknown[] = []): ReplayResult {
  const r: ReplayResult = {
    columns: [],
    rows: [],
    more: 0,
    tags: [],
    errors: [],
    notices: [],
    maskedColumns: [],
    masked: [],
  };
  let binary: boolean[] = [];
  /** The current result (the n-th RowDescription or COPY of the command) and its masking evidence. */
  let resultIndex = -1;
  let marks: ResultMarks = NO_MARKS;
  let row = 0;
  for (const f of server) {
    const d = f.data ?? {};
    switch (f.kind) {
      case "RowDescription": {
        const fields = Array.isArray(d.fields) ? (d.fields as { name?: unknown; format?: unknown }[]) : [];
        r.columns = fields.map((x) => String(x.name ?? ""));
        binary = fields.map((x) => x.format === 1);
        marks = resultMarks(evidence[++resultIndex]);
        r.maskedColumns = r.columns.map((_, i) => marks.columns.get(i) ?? null);
        row = 0;
        break;
      }
      case "CopyOutResponse":
        resultIndex++;
        marks = NO_MARKS;
        break;
      case "DataRow": {
        const at = row++;
        if (r.rows.length >= maxRows) {
          r.more++;
          break;
        }
        const values = Array.isArray(d.values) ? d.values : [];
        r.rows.push(values.map((v, i) => cellText(v, binary[i] ?? false)));
        r.masked.push(
          values.map((_, i) => (marks.cells.has(at * CELL_KEY + i) ? marks.columns.get(i)! : null)),
        );
        break;
      }
      case "CommandComplete":
        r.tags.push(str(d.tag) ?? "");
        break;
      case "ErrorResponse":
        r.errors.push({ code: str(d.C) ?? "", message: str(d.M) ?? "" });
        break;
      case "NoticeResponse":
        r.notices.push(str(d.M) ?? "");
        break;
    }
  }
  return r;
}

interface ResultMarks {
  /** Column index → what masked values in it. */
  columns: Map<number, string>;
  /** row * CELL_KEY + column, for each cell the evidence lists as changed. */
  cells: Set<number>;
}

const NO_MARKS: ResultMarks = { columns: new Map(), cells: new Set() };
/** More columns than a result may have (PostgreSQL: 1664), so row and column fit one number. */
const CELL_KEY = 1 << 16;

/** One result's masking evidence (masking/evidence.ts) as labels per column and a set of changed cells. */
function resultMarks(raw: unknown): ResultMarks {
  if (!raw || typeof raw !== "object") return NO_MARKS;
  const x = raw as { columns?: unknown; detectorColumns?: unknown; cells?: unknown };
  const labels = new Map<number, string[]>();
  const add = (i: unknown, label: string) => {
    if (typeof i !== "number") return;
    const list = labels.get(i) ?? [];
    if (!list.includes(label)) list.push(label);
    labels.set(i, list);
  };
  for (const c of arr(x.columns)) add(c.index, `rule ${str(c.rule) ?? "?"}: ${str(c.method) ?? "?"}`);
  for (const c of arr(x.detectorColumns))
    add(c.index, `detector ${str(c.detector) ?? "?"}: ${str(c.method) ?? "?"}`);
  const columns = new Map([...labels].map(([i, l]) => [i, l.join(", ")]));
  const cells = new Set<number>();
  const flat = Array.isArray(x.cells) ? x.cells : [];
  for (let k = 0; k + 1 < flat.length; k += 2) {
    const [row, col] = [flat[k], flat[k + 1]];
    if (typeof row === "number" && typeof col === "number" && columns.has(col))
      cells.add(row * CELL_KEY + col);
  }
  return { columns, cells };
}

function arr(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter((o): o is Record<string, unknown> => !!o && typeof o === "object") : [];
}

function str(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  return null;
}

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function errorText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v;
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    const msg = str(o.message) ?? str(o.M);
    const code = str(o.code) ?? str(o.C);
    if (msg) return code ? `${code}: ${msg}` : msg;
  }
  return JSON.stringify(v);
}
