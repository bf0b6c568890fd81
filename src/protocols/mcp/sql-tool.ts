// `<conn>__query`: one SQL statement, run as an ordinary PostgreSQL client of the gateway's own listener on
// loopback, with the caller's own token. The statement therefore meets exactly what a native session meets
// (start-up allow-list, lexing parity, catalog resolution, decision, masking, review, recording): the MCP
// front door decides nothing itself and cannot disagree with the PostgreSQL front door.
import postgres from "postgres";
import type { QueryArgs } from "./tool-args.ts";
import { MAX_RESULT_BYTES } from "./tools.ts";

export interface LoopbackSql {
  port: number;
  /** The caller's identity token: the PostgreSQL password, as for any client. */
  credential: string;
  /** PostgreSQL application_name of the native sessions: links them to the MCP session in the audit log. */
  applicationName: string;
}

export interface SqlResult {
  columns: string[];
  rows: Record<string, unknown>[];
  /** Rows the statement produced (more than `rows` when truncated). */
  rowCount: number;
  command: string | null;
  truncated: boolean;
}

export interface SqlError {
  sqlstate: string;
  message: string;
  detail?: string;
  hint?: string;
}

export type SqlOutcome = { ok: true; result: SqlResult } | { ok: false; error: SqlError };

/** A statement held for approval: the NOTICE the gateway sent, parsed. */
export interface HeldNotice {
  requestId: string;
  message: string;
  hint: string;
}

type Client = ReturnType<typeof postgres>;

/** Clients of one connection for one MCP session; each runs one statement at a time, so a NOTICE is its own. */
export class SqlClients {
  private readonly idle: Client[] = [];
  private readonly all = new Set<Client>();
  private onNotice = new WeakMap<Client, (n: postgres.Notice) => void>();
  private closed = false;

  constructor(
    private readonly connection: string,
    private readonly opts: LoopbackSql,
    /** Clients at once: a call held for approval keeps one busy while others go on. */
    private readonly maxClients = 4,
  ) {}

  async run(args: QueryArgs, held: (n: HeldNotice) => void, signal: AbortSignal): Promise<SqlOutcome> {
    const client = this.idle.pop() ?? this.open();
    if (!client) {
      return {
        ok: false,
        error: { sqlstate: "53300", message: `too many statements in flight on "${this.connection}"` },
      };
    }
    this.onNotice.set(client, (n) => {
      const id = /held for approval: request (\S+)/.exec(String(n.message ?? ""))?.[1];
      if (id) held({ requestId: id, message: String(n.message), hint: String(n.hint ?? "") });
    });
    try {
      return await execute(client, args, signal, () => !this.closed);
    } finally {
      this.onNotice.delete(client);
      if (this.all.has(client)) this.idle.push(client);
    }
  }

  /**
   * Ends every client. Marked closed first, so a statement the closing session aborts is not cancelled
   * with a CancelRequest: postgres.js sends one on a new connection and drops the promise of it, so one
   * that fails (the gateway's own listener already stopped, at shutdown) would be an unhandled rejection.
   * Ending the connection ends the gateway session, which abandons whatever it held.
   */
  async close(): Promise<void> {
    this.closed = true;
    const clients = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(clients.map((c) => c.end({ timeout: 1 }).catch(() => undefined)));
  }

  private open(): Client | null {
    if (this.all.size >= this.maxClients) return null;
    let client: Client;
    const notice = (n: postgres.Notice) => this.onNotice.get(client)?.(n);
    client = postgres({
      host: "127.0.0.1",
      port: this.opts.port,
      database: this.connection,
      username: "mcp",
      password: this.opts.credential,
      ssl: false,
      max: 1,
      prepare: false,
      // No catalog query of postgres.js's own: the session runs only what the agent asked for.
      fetch_types: false,
      connect_timeout: 10,
      idle_timeout: 300,
      onnotice: notice,
      connection: { application_name: this.opts.applicationName },
    });
    // Values as the gateway sent them (its masking replaced text, whatever the column's type): no parsing.
    const parsers = client.options.parsers as Record<string, unknown>;
    for (const k of Object.keys(parsers)) delete parsers[k];
    this.all.add(client);
    return client;
  }
}

async function execute(
  client: Client,
  args: QueryArgs,
  signal: AbortSignal,
  mayCancel: () => boolean,
): Promise<SqlOutcome> {
  const rows: Record<string, unknown>[] = [];
  let rowCount = 0;
  let bytes = 0;
  let truncated = false;
  let cancelled = false;
  // Always the extended protocol: exactly one statement per call, its parameters bound, never spliced.
  const query = client.unsafe(
    args.sql,
    args.params as postgres.ParameterOrJSON<never>[],
    {
      prepare: false,
      simple: false,
    } as never,
  );
  const stop = () => {
    if (cancelled || !mayCancel()) return;
    cancelled = true;
    void query.cancel();
  };
  signal.addEventListener("abort", stop, { once: true });
  try {
    const result = await query.forEach((row) => {
      rowCount++;
      if (truncated) return;
      const size = JSON.stringify(row).length;
      if (rows.length >= args.maxRows || bytes + size > MAX_RESULT_BYTES) {
        truncated = true;
        // The rest is not wanted: stop the statement rather than read what will be dropped.
        stop();
        return;
      }
      bytes += size;
      rows.push({ ...row });
    });
    const columns = (result.columns ?? []).map((c) => c.name);
    return { ok: true, result: { columns, rows, rowCount, command: commandTag(result), truncated } };
  } catch (err) {
    if (truncated && isCancel(err)) {
      return {
        ok: true,
        result: { columns: Object.keys(rows[0] ?? {}), rows, rowCount, command: null, truncated },
      };
    }
    return { ok: false, error: sqlError(err) };
  } finally {
    signal.removeEventListener("abort", stop);
  }
}

function commandTag(result: { command?: string; count?: number }): string | null {
  if (!result.command) return null;
  return result.count === undefined || result.count === null
    ? result.command
    : `${result.command} ${result.count}`;
}

const isCancel = (err: unknown) => (err as { code?: string } | null)?.code === "57014";

function sqlError(err: unknown): SqlError {
  const e = err as { code?: unknown; message?: unknown; detail?: unknown; hint?: unknown };
  const sqlstate = typeof e?.code === "string" && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : "08006";
  const out: SqlError = { sqlstate, message: typeof e?.message === "string" ? e.message : String(err) };
  if (typeof e.detail === "string") out.detail = e.detail;
  if (typeof e.hint === "string") out.hint = e.hint;
  return out;
}
