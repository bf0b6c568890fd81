// The shape of every stored row `audit verify` reads, checked before anything hashes or decodes it. Whoever can
// write the store can put any type in any column (SQLite is dynamically typed; PostgreSQL columns can be
// altered), NULL into a NOT NULL column (by rebuilding the table), or cut a hash short: each is named as a
// failure at its row, never thrown as a TypeError halfway through a page.
import type { CheckpointRow, EventRow, LogRow, RecordingRow } from "./store.ts";

type Want = "text" | "text?" | "int" | "int?" | "bytes" | number;

const EVENT: Record<keyof EventRow, Want> = {
  logId: "text",
  seq: "int",
  time: "int",
  type: "text",
  sessionId: "text?",
  body: "bytes",
  leafHash: 32, // SHA-256, RFC 6962 leaf
  prunedAt: "int?",
};

const CHECKPOINT: Record<keyof CheckpointRow, Want> = {
  logId: "text",
  size: "int",
  rootHash: 32, // SHA-256 Merkle root
  time: "int",
  signature: 64, // Ed25519, RFC 8032 §5.1.6
};

const RECORDING: Record<keyof RecordingRow, Want> = {
  sessionId: "text",
  batch: "int",
  logId: "text",
  eventSeq: "int",
  firstTime: "int",
  frameCount: "int",
  data: "bytes",
  sha256: 32,
  prunedAt: "int?",
};

const LOG: Record<keyof LogRow, Want> = {
  logId: "text",
  publicKey: 32, // Ed25519 public key, raw
  createdAt: "int",
};

/** What a value is, in the store's terms, for a failure's reason. */
export function describeValue(v: unknown): string {
  if (v === null) return "NULL";
  if (v === undefined) return "nothing";
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === "string") return `text ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === "number") return Number.isInteger(v) ? `the integer ${v}` : `the real ${v}`;
  if (typeof v === "bigint") return `the integer ${v}`;
  return typeof v;
}

function fits(v: unknown, want: Want): boolean {
  if (typeof want === "number") return v instanceof Uint8Array && v.length === want;
  switch (want) {
    case "text":
      return typeof v === "string";
    case "text?":
      return v === null || typeof v === "string";
    case "int":
      return Number.isSafeInteger(v);
    case "int?":
      return v === null || Number.isSafeInteger(v);
    case "bytes":
      return v instanceof Uint8Array;
  }
}

const wanted = (want: Want) =>
  typeof want === "number"
    ? `${want} bytes`
    : {
        text: "text",
        "text?": "text or NULL",
        int: "an integer",
        "int?": "an integer or NULL",
        bytes: "bytes",
      }[want];

function firstMisfit(row: object, columns: Record<string, Want>): string | null {
  for (const [key, want] of Object.entries(columns)) {
    const v = (row as Record<string, unknown>)[key];
    if (!fits(v, want)) return `column ${snake(key)} holds ${describeValue(v)}, not ${wanted(want)}`;
  }
  return null;
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** null when the event row has the stored types; otherwise which column holds what. */
export const eventMisfit = (row: EventRow) => firstMisfit(row, EVENT);
export const checkpointMisfit = (row: CheckpointRow) => firstMisfit(row, CHECKPOINT);
export const recordingMisfit = (row: RecordingRow) => firstMisfit(row, RECORDING);
export const logMisfit = (row: LogRow) => firstMisfit(row, LOG);
