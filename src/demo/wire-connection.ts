// One client connection to the demo database: startup and password check here, then every complete message
// batch is run on the shared PGlite backend while this connection holds the BackendGate.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Socket } from "node:net";
import type { PGlite } from "@electric-sql/pglite";
import type { Logger } from "../core/log.ts";
import type { BackendGate } from "./backend-gate.ts";
import { BackendTracker } from "./backend-tracker.ts";
import {
  AUTH_CLEARTEXT_PASSWORD,
  CANCEL_REQUEST_CODE,
  cString,
  DECLINE_ENCRYPTION,
  fatalError,
  GSSENC_REQUEST_CODE,
  MAX_MESSAGE_BYTES,
  MAX_STARTUP_BYTES,
  MSG_CLOSE,
  MSG_PARSE,
  MSG_PASSWORD,
  MSG_TERMINATE,
  SSL_REQUEST_CODE,
  SYNC,
  startupRefusal,
} from "./wire-messages.ts";

export interface ConnectionContext {
  db: PGlite;
  gate: BackendGate;
  user: string;
  database: string;
  /** undefined: trust, no password asked. */
  password: string | undefined;
  /** How long an idle open transaction may block other sessions before it is terminated. */
  idleInTransactionTimeoutMs: number;
  stopping(): boolean;
  log: Logger;
}

type Phase = "startup" | "password" | "ready" | "closed";

export function serveConnection(socket: Socket, id: number, ctx: ConnectionContext): Promise<void> {
  let phase: Phase = "startup";
  let inbox: Uint8Array = new Uint8Array(0);
  let startupPacket: Uint8Array | undefined;
  const pending: Uint8Array[] = [];
  const statements = new Set<string>();
  const tracker = new BackendTracker();
  let pumping = false;
  let touchedBackend = false;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const fail = (sqlstate: string, message: string) => {
    if (phase === "closed") return;
    ctx.log.info("demo connection refused", { conn: id, sqlstate, reason: message });
    endWith(socket, fatalError(sqlstate, message));
    closed();
  };

  const closed = () => {
    if (phase === "closed") return;
    phase = "closed";
    ctx.log.debug("demo connection closed", { conn: id, holder: ctx.gate.holder, waiting: ctx.gate.waiting });
    clearTimeout(idleTimer);
    pending.length = 0;
    void pump();
  };

  socket.setNoDelay(true);
  socket.on("data", (chunk: Buffer) => {
    if (phase === "closed") return;
    inbox = inbox.length === 0 ? chunk : concat([inbox, chunk]);
    try {
      readFrames();
    } catch (err) {
      ctx.log.error("demo connection input error", { conn: id, error: String(err) });
      fail("08P01", "invalid frontend message");
    }
    if (pending.length > 0) {
      clearTimeout(idleTimer);
      void pump();
    }
  });
  socket.on("error", (err) =>
    ctx.log.debug("demo connection socket error", { conn: id, error: err.message }),
  );
  socket.on("close", closed);

  function readFrames(): void {
    while (phase !== "closed") {
      const frame = phase === "startup" ? takeStartupFrame() : takeFrame();
      if (!frame) return;
      if (phase === "startup") onStartupFrame(frame);
      else if (phase === "password") onPasswordFrame(frame);
      else onMessage(frame);
    }
  }

  // Startup packets have no type byte: int32 length (self-inclusive), int32 code, body.
  function takeStartupFrame(): Uint8Array | undefined {
    if (inbox.length < 4) return undefined;
    const length = readInt32(inbox, 0);
    if (length < 8 || length > MAX_STARTUP_BYTES) {
      fail("08P01", "invalid length of startup packet");
      return undefined;
    }
    return take(length);
  }

  function takeFrame(): Uint8Array | undefined {
    if (inbox.length < 5) return undefined;
    const length = readInt32(inbox, 1);
    if (length < 4 || length > MAX_MESSAGE_BYTES) {
      fail("08P01", `invalid message length ${length}`);
      return undefined;
    }
    return take(1 + length);
  }

  function take(n: number): Uint8Array | undefined {
    if (inbox.length < n) return undefined;
    const frame = inbox.subarray(0, n);
    inbox = inbox.subarray(n);
    return frame;
  }

  function onStartupFrame(frame: Uint8Array): void {
    const code = readInt32(frame, 4);
    if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) {
      socket.write(DECLINE_ENCRYPTION);
    } else if (code === CANCEL_REQUEST_CODE) {
      // One backend, nothing to signal: PostgreSQL also answers a CancelRequest with silence.
      socket.end();
      closed();
    } else {
      const refusal = startupRefusal(frame, code, ctx);
      if (refusal) {
        fail(refusal.sqlstate, refusal.message);
      } else if (ctx.password === undefined) {
        startupPacket = frame;
        enterReady();
      } else {
        startupPacket = frame;
        phase = "password";
        socket.write(AUTH_CLEARTEXT_PASSWORD);
      }
    }
  }

  function onPasswordFrame(frame: Uint8Array): void {
    if (frame[0] !== MSG_PASSWORD) {
      fail("08P01", "expected password response");
    } else if (!samePassword(cString(frame, 5) ?? "", ctx.password ?? "")) {
      fail("28P01", `password authentication failed for user "${ctx.user}"`);
    } else {
      enterReady();
    }
  }

  // PGlite answers the original StartupMessage itself: AuthenticationOk, ParameterStatus, BackendKeyData, Z.
  function enterReady(): void {
    phase = "ready";
    if (startupPacket) pending.push(startupPacket);
    startupPacket = undefined;
  }

  function onMessage(frame: Uint8Array): void {
    const type = frame[0];
    if (type === MSG_TERMINATE) {
      socket.end();
      closed();
      return;
    }
    // Named statements live in the shared backend; remember ours so a dead connection's are deallocated.
    if (type === MSG_PARSE) {
      const name = cString(frame, 5);
      if (name) statements.add(name);
    } else if (type === MSG_CLOSE && frame[5] === 0x53) {
      const name = cString(frame, 6);
      if (name) statements.delete(name);
    }
    pending.push(frame);
  }

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (pending.length > 0 || phase === "closed") {
        if (phase === "closed" && !touchedBackend) break;
        await ctx.gate.acquire(id);
        if (ctx.stopping()) break;
        if (phase === "closed") {
          await cleanUp();
          break;
        }
        const batch = pending.length === 1 ? (pending[0] as Uint8Array) : concat(pending);
        pending.length = 0;
        touchedBackend = true;
        tracker.reset();
        await ctx.db.runExclusive(() =>
          ctx.db.execProtocolRawStream(batch, {
            onRawData: (bytes) => {
              tracker.feed(bytes);
              if (phase !== "closed") socket.write(Buffer.from(bytes));
            },
          }),
        );
        if (tracker.idle) ctx.gate.release(id);
        else if (pending.length === 0) armIdleTimer();
        if (socket.writableNeedDrain) await drained();
      }
    } catch (err) {
      ctx.log.error("demo database backend error", { conn: id, error: String(err) });
      fail("XX000", "demo database backend failed");
      await cleanUp().catch(() => {});
    } finally {
      // A live connection keeps the backend across pump runs while its transaction is open.
      if (phase === "closed" || ctx.stopping()) ctx.gate.release(id);
      pumping = false;
      if (phase === "closed") {
        ctx.log.debug("demo connection finished", { conn: id });
        finish();
      } else if (pending.length > 0) void pump();
    }
  }

  // Leaves the backend as a fresh session would find it: no half batch, no open transaction, none of our statements.
  async function cleanUp(): Promise<void> {
    if (!touchedBackend || ctx.stopping()) return;
    touchedBackend = false;
    const sql = ["ROLLBACK", ...[...statements].map((s) => `DEALLOCATE "${s.replaceAll('"', '""')}"`)];
    statements.clear();
    await ctx.db.runExclusive(async () => {
      await ctx.db.execProtocolRaw(SYNC);
      if (ctx.db.isInTransaction()) await ctx.db.execProtocolRaw(query(sql[0] as string));
      for (const statement of sql.slice(1)) await ctx.db.execProtocolRaw(query(statement));
    });
  }

  function armIdleTimer(): void {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (phase === "closed" || ctx.gate.holder !== id || pending.length > 0) return;
      if (ctx.gate.waiting === 0) armIdleTimer();
      else
        fail(
          "25P03",
          "terminating connection due to idle-in-transaction timeout: another session is waiting",
        );
    }, ctx.idleInTransactionTimeoutMs);
  }

  function drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        socket.off("drain", done);
        socket.off("close", done);
        resolve();
      };
      socket.on("drain", done);
      socket.on("close", done);
    });
  }

  return done;
}

/** Sends a last message and closes; destroys the socket if the peer never finishes the close. */
export function endWith(socket: Socket, bytes: Uint8Array): void {
  socket.end(bytes);
  setTimeout(() => socket.destroy(), 1_000).unref();
}

function samePassword(given: string, expected: string): boolean {
  // Hash first so the comparison is constant-time regardless of length.
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

function query(sql: string): Uint8Array {
  const text = new TextEncoder().encode(`${sql}\0`);
  const out = new Uint8Array(5 + text.length);
  out[0] = 0x51; // 'Q' Query
  new DataView(out.buffer).setInt32(1, 4 + text.length);
  out.set(text, 5);
  return out;
}

function readInt32(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt32(offset);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
