// Streams this gateway's audit log to every configured SIEM sink, each from its own durable cursor in the
// audit store: read a page of committed events (and the checkpoints they complete), format, deliver, and
// only then move the cursor. Delivery is at least once and in log order; a restart or an outage resumes
// from the cursor. It reads what the recorder already committed, so the data path never waits for it.
import type { Logger } from "../../core/log.ts";
import { signedNote } from "../checkpoint.ts";
import { decodeEvent, describeError } from "../codec.ts";
import type { AuditStore, EventRow } from "../store.ts";
import type { CursorStore } from "./cursor-store.ts";
import { formatRecord } from "./format.ts";
import type { Delivery, Sink } from "./sink.ts";
import { type Cursor, interleave, type SessionContext, type StreamItem } from "./stream-item.ts";

export interface SinkStats {
  name: string;
  delivered: number;
  failures: number;
  /** Seconds since the oldest event not yet delivered was logged; 0 when caught up. */
  lagSeconds: number;
  nextSeq: number;
  lastError: string | null;
  lastDeliveryAt: number | null;
}

export interface StreamerOptions {
  store: AuditStore;
  cursors: CursorStore;
  logId: string;
  publicKey: Uint8Array;
  sinks: Sink[];
  logger: Logger;
  version: string;
  /** Redacts regulated values in free text (the masking detectors); absent: scrub only. */
  redact?: (text: string) => string;
  pollMs?: number;
  batchSize?: number;
  maxBackoffMs?: number;
}

const SESSION_CACHE = 10_000;
/** Records formatted between two yields to the event loop (~2 ms of work). */
const YIELD_EVERY = 25;

export class SiemStreamer {
  private stopped = false;
  private readonly wakers = new Set<() => void>();
  private readonly loops: Promise<void>[] = [];
  private readonly state = new Map<string, SinkStats & { pendingSince: number | null }>();
  private readonly sessions = new Map<string, SessionContext>();

  constructor(private readonly o: StreamerOptions) {
    for (const s of o.sinks) {
      this.state.set(s.name, {
        name: s.name,
        delivered: 0,
        failures: 0,
        lagSeconds: 0,
        nextSeq: 0,
        lastError: null,
        lastDeliveryAt: null,
        pendingSince: null,
      });
    }
  }

  start(): void {
    for (const sink of this.o.sinks) this.loops.push(this.run(sink));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.wakers) w();
    // A delivery in flight gets a moment to finish; past that it is abandoned (not acknowledged, so the
    // cursor has not moved and the next start delivers it again).
    await Promise.race([Promise.all(this.loops), Bun.sleep(2_000)]);
    for (const s of this.o.sinks) await s.close().catch(() => {});
  }

  stats(now = Date.now()): SinkStats[] {
    return [...this.state.values()].map(({ pendingSince, ...s }) => ({
      ...s,
      lagSeconds: pendingSince === null ? 0 : Math.max(0, (now - pendingSince) / 1000),
    }));
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wakers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  private async run(sink: Sink): Promise<void> {
    const st = this.state.get(sink.name)!;
    const poll = this.o.pollMs ?? 1000;
    const batchSize = this.o.batchSize ?? 100;
    let backoff = poll;
    let cursor: Cursor | null = null;
    while (!this.stopped) {
      try {
        cursor ??= (await this.o.cursors.get(sink.name, this.o.logId)) ?? { nextSeq: 0, checkpointSize: 0 };
        st.nextSeq = cursor.nextSeq;
        const rows = await this.o.store.readEvents(this.o.logId, cursor.nextSeq, batchSize);
        const cps = await this.o.cursors.checkpoints(
          this.o.logId,
          cursor.checkpointSize,
          cursor.nextSeq + rows.length,
        );
        if (rows.length === 0 && cps.length === 0) {
          st.pendingSince = null;
          await this.sleep(poll);
          continue;
        }
        st.pendingSince = rows[0]?.time ?? st.pendingSince;
        const batch = await this.deliveries(cursor, rows, cps, sink.format);
        await sink.deliver(batch);
        const next: Cursor = {
          nextSeq: cursor.nextSeq + rows.length,
          checkpointSize: Math.max(cursor.checkpointSize, ...cps.map((c) => c.size)),
        };
        await this.o.cursors.save(sink.name, this.o.logId, next);
        cursor = next;
        st.nextSeq = next.nextSeq;
        st.delivered += batch.length;
        st.lastDeliveryAt = Date.now();
        st.lastError = null;
        backoff = poll;
        if (rows.length < batchSize) {
          st.pendingSince = null;
          await this.sleep(poll);
        }
      } catch (err) {
        st.failures++;
        const message = describeError(err);
        if (st.lastError !== message)
          this.o.logger.warn("siem delivery failed; will retry", { sink: sink.name, error: message });
        st.lastError = message;
        // Re-read the cursor next time: a save that failed must not skip anything.
        cursor = null;
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, this.o.maxBackoffMs ?? 30_000);
      }
    }
  }

  private async deliveries(
    cursor: Cursor,
    rows: EventRow[],
    cps: Awaited<ReturnType<CursorStore["checkpoints"]>>,
    format: "ocsf" | "native",
  ): Promise<Delivery[]> {
    const out: Delivery[] = [];
    let n = 0;
    for (const x of interleave(cursor, rows, cps)) {
      // This runs on the gateway's thread: yield now and then so a backlog never stalls a session.
      if (++n % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
      let item: StreamItem;
      if ("checkpoint" in x) {
        item = {
          kind: "checkpoint",
          logId: this.o.logId,
          cp: x.checkpoint,
          note: signedNote(x.checkpoint, this.o.publicKey),
          publicKey: this.o.publicKey,
        };
      } else {
        const row = x.event;
        const data = decodeEvent(row.body).data ?? {};
        item = { kind: "event", logId: this.o.logId, row, data };
        const session = row.sessionId ? await this.session(row, data) : undefined;
        if (session) item.session = session;
      }
      out.push({ item, record: formatRecord(item, format, this.o.version, this.o.redact) });
    }
    return out;
  }

  /** The session's identity for its statements: from session.start as it streams by, else the store. */
  private async session(row: EventRow, data: Record<string, unknown>): Promise<SessionContext | undefined> {
    const id = row.sessionId!;
    const s = (v: unknown) => (typeof v === "string" ? v : null);
    if (row.type === "session.start") {
      if (this.sessions.size >= SESSION_CACHE) this.sessions.delete(this.sessions.keys().next().value!);
      this.sessions.set(id, {
        subject: s(data.subject),
        issuer: s(data.issuer),
        groups: Array.isArray(data.groups)
          ? data.groups.filter((g): g is string => typeof g === "string")
          : [],
        kind: s(data.kind),
        connection: s(data.connection),
        protocol: s(data.protocol),
        targetUser: s(data.target_user),
        targetDatabase: s(data.target_database),
        clientAddr: s(data.client_addr),
        application: s(data.application),
      });
    }
    let ctx = this.sessions.get(id);
    if (!ctx) {
      const p = await this.o.store.getSession(id);
      if (p) {
        ctx = {
          subject: p.subject,
          issuer: p.issuer,
          groups: [],
          kind: p.kind,
          connection: p.connection,
          protocol: p.protocol,
          targetUser: p.targetUser,
          targetDatabase: null,
          clientAddr: p.clientAddr,
          application: p.application,
        };
        this.sessions.set(id, ctx);
      }
    }
    if (row.type === "session.end") this.sessions.delete(id);
    return ctx;
  }
}
