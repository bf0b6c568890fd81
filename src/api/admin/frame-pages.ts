// One page of a session's decoded recording, reading only the batches the page needs. The cursor carries the
// position after the page: the batch to continue at, how many of that batch's frames were already served, and
// the expander's state at that batch's start (where each stream's unfinished message began, so the batches
// holding it are read back). It is sealed to the session (AES-GCM under the console key): a forged or
// foreign cursor is a 400, never a silent restart or a decode from a made-up position.
import { decodeFrames } from "../../audit/codec.ts";
import type { SessionRow } from "../../audit/store.ts";
import type { Frame } from "../../core/frame.ts";
import {
  type ExpanderState,
  firstBatchToRead,
  passThrough,
  type StreamMark,
} from "../../core/recording-expander.ts";
import type { AdminDeps } from "./deps.ts";
import { badRequest } from "./http-error.ts";
import { seal, unseal } from "./session-cookie.ts";

/** Batches per store read for a page: small enough to bound memory, big enough for a query or two a page. */
const READ_CHUNK = 32;
/** Batches per store read when counting, which reads them all: fewer, larger reads. */
const COUNT_CHUNK = 256;

export interface FramePage {
  items: Frame[];
  /** Frames in the whole decoded recording. */
  total: number;
  /** Index of items[0] in the whole decoded recording. */
  offset: number;
  nextCursor: string | null;
}

interface Position {
  /** Frames served before this position. */
  i: number;
  /** Batch to continue at, frames of its expansion already served, expander state at its start. */
  b: number;
  k: number;
  st: ExpanderState;
}

const START: Position = { i: 0, b: 0, k: 0, st: {} };

export async function readFramePage(
  deps: AdminDeps,
  session: SessionRow,
  opts: { limit: number; cursor?: string },
): Promise<FramePage> {
  const at = opts.cursor ? openCursor(opts.cursor, deps.cookieKey, session.id) : START;
  const expander = expanderFor(deps)(session.protocol, at.st);
  const items: Frame[] = [];
  let after: Position = at;
  for await (const row of batches(deps, session.id, firstBatchToRead(at.b, at.st), READ_CHUNK)) {
    const frames = decodeFrames(row.data);
    if (row.batch < at.b) {
      expander.restore(row.batch, frames);
      continue;
    }
    const st = expander.state();
    const out = expander.push(row.batch, frames);
    const skip = row.batch === at.b ? at.k : 0;
    if (skip > out.length) throw badRequest("cursor does not fit the recording");
    const take = out.slice(skip, skip + opts.limit - items.length);
    items.push(...take);
    const used = skip + take.length;
    after =
      used < out.length
        ? { i: at.i + items.length, b: row.batch, k: used, st }
        : { i: at.i + items.length, b: row.batch + 1, k: 0, st: expander.state() };
    if (items.length === opts.limit) break;
  }
  // Counted after the page: a live session's page never holds frames beyond the total it reports.
  const total = await countFrames(deps, session);
  const end = at.i + items.length;
  return {
    items,
    total,
    offset: at.i,
    nextCursor: end < total && items.length > 0 ? sealCursor(after, deps.cookieKey, session.id) : null,
  };
}

/**
 * Frames in the whole decoded recording. Decoding is the only exact count (a message the decoders refuse
 * becomes one Undecodable frame and drops the rest of its chunk), so it is counted once, in bounded memory,
 * and remembered per session with the state at its last batch: a later call decodes only batches added since.
 */
async function countFrames(deps: AdminDeps, session: SessionRow): Promise<number> {
  const known = counts(deps).get(session.id);
  let { b, st, n } = known ?? { b: 0, st: {}, n: 0 };
  // Nothing added since: the count stands (an open message's batches need not be read back to say so).
  if (known && (await deps.store.sessionBatches(session.id, b, 1)).length === 0) return n;
  const expander = expanderFor(deps)(session.protocol, st);
  for await (const row of batches(deps, session.id, firstBatchToRead(b, st), COUNT_CHUNK)) {
    const frames = decodeFrames(row.data);
    if (row.batch < b) expander.restore(row.batch, frames);
    else {
      n += expander.push(row.batch, frames).length;
      b = row.batch + 1;
    }
  }
  st = expander.state();
  const cache = counts(deps);
  cache.delete(session.id);
  cache.set(session.id, { b, st, n });
  if (cache.size > COUNT_CACHE) cache.delete(cache.keys().next().value!);
  return n;
}

/** A session's stored batches from `from` on, in order, read `chunk` at a time. */
async function* batches(deps: AdminDeps, sessionId: string, from: number, chunk: number) {
  for (let next = from; ; ) {
    const rows = await deps.store.sessionBatches(sessionId, next, chunk);
    yield* rows;
    if (rows.length < chunk) return;
    next = rows.at(-1)!.batch + 1;
  }
}

/** Sessions whose counts are remembered; the oldest entry goes first. */
const COUNT_CACHE = 1024;
const countCaches = new WeakMap<AdminDeps, Map<string, { b: number; st: ExpanderState; n: number }>>();

function counts(deps: AdminDeps) {
  let cache = countCaches.get(deps);
  if (!cache) {
    cache = new Map();
    countCaches.set(deps, cache);
  }
  return cache;
}

const expanderFor = (deps: AdminDeps) => deps.recordingExpander ?? passThrough;

const purpose = (sessionId: string) => `frames-cursor:${sessionId}`;

function sealCursor(p: Position, key: Uint8Array, sessionId: string): string {
  return seal(p, key, purpose(sessionId));
}

function openCursor(text: string, key: Uint8Array, sessionId: string): Position {
  const p = unseal(text, key, purpose(sessionId)) as Partial<Position> | null;
  if (!p || !count(p.i) || !count(p.b) || !count(p.k) || !validState(p.st)) {
    throw badRequest("cursor is not one this API issued for this session");
  }
  return { i: p.i, b: p.b, k: p.k, st: p.st };
}

const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function validState(st: unknown): st is ExpanderState {
  if (typeof st !== "object" || st === null || Array.isArray(st)) return false;
  return Object.entries(st).every(
    ([dir, mark]) =>
      (dir === "client" || dir === "server") &&
      Array.isArray(mark) &&
      mark.length === 3 &&
      (mark as StreamMark).every(count),
  );
}
