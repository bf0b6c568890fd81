// writeEvent for the commonest event, a statement's completion, written field by field: the same bytes as
// writeEvent (canonical msgpack, scrubbed) without listing the object's keys, checking their order and
// asking the scrub about each of them, for every statement (issue 23: the generic encoder was the main
// thread's largest cost after the socket writes). The keys are fixed and known not to be secret; nested
// values (error, review, approval, statements) still go through the scrub.
import { ByteSink, writeNumber, writeString, writeValue } from "./canonical.ts";
import { isSecretKey, SCRUB, writeEvent } from "./codec.ts";

/** A statement event's data, keys in canonical (sorted) order. */
export type StatementEventData = {
  action: string;
  approval: unknown;
  bundle: string | undefined;
  duration_us: number;
  error: unknown;
  input_digest: string | undefined;
  keyword: string | undefined;
  reason: string;
  record: string | undefined;
  review: unknown;
  rows: number;
  rule: string;
  seq: number;
  statement_name: string | undefined;
  statements: unknown;
  tag: string | null;
  text: string;
};

export type StatementEvent = { type: "statement"; time: number; sessionId: string; data: StatementEventData };

const KEYS = [
  "action",
  "approval",
  "bundle",
  "duration_us",
  "error",
  "input_digest",
  "keyword",
  "reason",
  "record",
  "review",
  "rows",
  "rule",
  "seq",
  "statement_name",
  "statements",
  "tag",
  "text",
] as const;

// The fast path writes these keys' values as they are: it is only sound while none of them is secret.
for (const k of KEYS) if (isSecretKey(k)) throw new Error(`statement event key ${k} is secret-named`);

const key = (k: string): Uint8Array => {
  const s = new ByteSink(64);
  writeString(s, k);
  return s.bytes.slice(0, s.used);
};
const K = KEYS.map(key);
const [ACTION, APPROVAL, BUNDLE, DURATION, ERROR, DIGEST, KEYWORD, REASON, RECORD, REVIEW, ROWS, RULE, SEQ] =
  K;
const [STATEMENT_NAME, STATEMENTS, TAG, TEXT] = K.slice(13);
const DATA = key("data");
const SESSION_ID = key("sessionId");
const TIME = key("time");
const TYPE = key("type");
const STATEMENT = key("statement");

/** Appends the event's stored body to `sink`: byte for byte what writeEvent(sink, e) appends. */
export function writeStatementEvent(sink: ByteSink, e: StatementEvent): void {
  const start = sink.used;
  try {
    writeFast(sink, e);
  } catch {
    // A value the fast path does not write (a class instance in `review`, say): the generic path decides.
    sink.used = start;
    writeEvent(sink, e);
  }
}

function writeFast(s: ByteSink, e: StatementEvent): void {
  const d = e.data;
  if (typeof e.sessionId !== "string") throw new TypeError("no session");
  s.u8(0x84); // {data, sessionId, time, type}
  s.raw(DATA!);
  const size =
    KEYS.length -
    ((d.action === undefined ? 1 : 0) +
      (d.approval === undefined ? 1 : 0) +
      (d.bundle === undefined ? 1 : 0) +
      (d.duration_us === undefined ? 1 : 0) +
      (d.error === undefined ? 1 : 0) +
      (d.input_digest === undefined ? 1 : 0) +
      (d.keyword === undefined ? 1 : 0) +
      (d.reason === undefined ? 1 : 0) +
      (d.record === undefined ? 1 : 0) +
      (d.review === undefined ? 1 : 0) +
      (d.rows === undefined ? 1 : 0) +
      (d.rule === undefined ? 1 : 0) +
      (d.seq === undefined ? 1 : 0) +
      (d.statement_name === undefined ? 1 : 0) +
      (d.statements === undefined ? 1 : 0) +
      (d.tag === undefined ? 1 : 0) +
      (d.text === undefined ? 1 : 0));
  if (size < 16) s.u8(0x80 + size);
  else s.u16(0xde, size);
  field(s, ACTION!, d.action);
  field(s, APPROVAL!, d.approval);
  field(s, BUNDLE!, d.bundle);
  field(s, DURATION!, d.duration_us);
  field(s, ERROR!, d.error);
  field(s, DIGEST!, d.input_digest);
  field(s, KEYWORD!, d.keyword);
  field(s, REASON!, d.reason);
  field(s, RECORD!, d.record);
  field(s, REVIEW!, d.review);
  field(s, ROWS!, d.rows);
  field(s, RULE!, d.rule);
  field(s, SEQ!, d.seq);
  field(s, STATEMENT_NAME!, d.statement_name);
  field(s, STATEMENTS!, d.statements);
  field(s, TAG!, d.tag);
  field(s, TEXT!, d.text);
  s.raw(SESSION_ID!);
  writeString(s, e.sessionId);
  s.raw(TIME!);
  writeNumber(s, e.time);
  s.raw(TYPE!);
  s.raw(STATEMENT!);
}

/** One key and its value; the data map is at depth 1 of the body, as writeCanonical counts. */
function field(s: ByteSink, k: Uint8Array, v: unknown): void {
  if (v === undefined) return;
  s.raw(k);
  writeValue(s, v, 2, SCRUB);
}
