// The gateway as a MySQL client of the real server: dial, TLS per target.tls, log in with the
// connection's own account (mysql_native_password, caching_sha2_password on MySQL 8, MariaDB's
// client_ed25519: upstream-auth.ts), character set
// pinned to utf8mb4, capabilities limited to what the client negotiated with the gateway's front.
import { CustosError } from "../../core/errors.ts";
import { upgradeToTls } from "../../net/conn.ts";
import { dial } from "../../net/listen.ts";
import { unsafeSqlMode } from "../../sql/mysql-tokens.ts";
import {
  Cap,
  Com,
  EOF,
  ERR,
  isEofPacket,
  OK,
  packet,
  parseErr,
  parseOk,
  Reader,
  text,
  utf8,
} from "./codec.ts";
import {
  CACHING_SHA2,
  FORMAT_CAPABILITIES,
  handshakeResponsePayload,
  parseAuthSwitch,
  parseGreeting,
  sslRequestPayload,
} from "./handshake.ts";
import { PacketStream } from "./packet-stream.ts";
import { textRowValues } from "./result-set.ts";
import type { MysqlTarget } from "./target.ts";
import { cachingSha2MoreData, openingPlugin, pluginAnswer, type UpstreamTls } from "./upstream-auth.ts";

export interface UpstreamSession {
  stream: PacketStream;
  /** The server's own connection id (KILL QUERY for this session's statement). */
  threadId: number;
  capabilities: number;
  status: number;
  serverVersion: string;
  tls: boolean;
  /** False when the client did not negotiate SESSION_TRACK: the gateway drops the server's reports. */
  clientTracksState: boolean;
  /** Views of the target database (`name` and `database.name`, lower-cased), read at login. */
  views: ReadonlySet<string>;
}

// Never asked upstream whatever the client wants: compression, client-side files, lexing changes.
const NEVER = Cap.COMPRESS | Cap.LOCAL_FILES | Cap.IGNORE_SPACE | Cap.SSL | Cap.CONNECT_ATTRS | Cap.NO_SCHEMA;

function authFailed(message: string): CustosError {
  return new CustosError("upstream.auth_failed", message);
}

export async function connectUpstream(
  target: MysqlTarget,
  clientCapabilities: number,
  maxPayload: number,
): Promise<UpstreamSession> {
  const timeout = target.connectTimeoutMs ?? 10_000;
  let conn: Awaited<ReturnType<typeof dial>>;
  try {
    conn = await dial({ host: target.host, port: target.port }, timeout);
  } catch (err) {
    throw new CustosError(
      "upstream.unreachable",
      `cannot reach ${target.host}:${target.port}: ${(err as Error).message}`,
    );
  }
  const stream = new PacketStream(conn, 1 << 16, "upstream");
  try {
    const hello = await stream.nextWithin(timeout, "upstream greeting");
    if (hello.payload[0] === ERR)
      throw authFailed(`server refused the connection: ${parseErr(hello.payload).message}`);
    const greeting = parseGreeting(hello.payload);
    const server = greeting.capabilities;
    const wanted =
      (clientCapabilities & ~NEVER) |
      Cap.PROTOCOL_41 |
      Cap.SECURE_CONNECTION |
      Cap.PLUGIN_AUTH |
      Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA |
      Cap.CONNECT_WITH_DB |
      Cap.LONG_PASSWORD |
      Cap.TRANSACTIONS;
    // The server's session-state reports are how the gateway sees a change its classifier missed
    // (session-state.ts): always asked for, and dropped again for a client that did not ask.
    if (!(server & Cap.SESSION_TRACK))
      throw new CustosError(
        "upstream.protocol",
        "the server does not report session state changes (CLIENT_SESSION_TRACK); refused",
      );
    // MariaDB reads bit 0 as "a MySQL client" (no MariaDB extended capabilities); keep it set.
    const caps = (wanted & server) | Cap.LONG_PASSWORD | Cap.SESSION_TRACK;
    const format = FORMAT_CAPABILITIES & ~Cap.SESSION_TRACK;
    if ((caps & format) !== (clientCapabilities & format))
      throw new CustosError(
        "upstream.protocol",
        "the server lacks a protocol capability the client negotiated",
      );
    let seq = hello.seq + 1;
    let tls: UpstreamTls = "none";
    const serverTls = (server & Cap.SSL) !== 0;
    if (target.tls !== "disable" && serverTls) {
      conn.write(packet(seq++, sslRequestPayload(caps)));
      await upgradeToTls(
        conn,
        {
          ...(target.ca ? { ca: target.ca } : {}),
          verify: target.tls === "verify-full",
          serverName: target.host,
        },
        false,
      );
      tls = target.tls === "verify-full" ? "verified" : "unverified";
    } else if (target.tls === "require" || target.tls === "verify-full") {
      throw new CustosError(
        "upstream.unreachable",
        "the server does not offer TLS, which target.tls requires",
      );
    }
    const password = target.password?.reveal() ?? "";
    let plugin = openingPlugin(greeting.plugin);
    let switches = 0;
    conn.write(
      packet(
        seq++,
        handshakeResponsePayload({
          capabilities: tls !== "none" ? caps | Cap.SSL : caps,
          user: target.user,
          auth: pluginAnswer(plugin, password, greeting.scramble),
          database: target.database,
          plugin,
        }),
      ),
    );
    for (;;) {
      const p = await stream.nextWithin(timeout, "upstream authentication");
      seq = p.seq + 1;
      const head = p.payload[0];
      if (head === OK) {
        const ok = parseOk(p.payload);
        const deprecateEof = (caps & Cap.DEPRECATE_EOF) !== 0;
        await pinSession(stream, conn, deprecateEof, timeout);
        // MySQL's column definitions name a view's own column, not what it reads: statements over views
        // cannot be resolved to their sources (ENFORCEMENT rule 3), so the session knows which names are views.
        const viewNames = await column(
          stream,
          conn,
          "SELECT LOWER(TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()",
          deprecateEof,
          timeout,
        );
        const views = new Set<string>();
        for (const v of viewNames) if (v) views.add(v).add(`${target.database.toLowerCase()}.${v}`);
        stream.maxPayload = maxPayload;
        return {
          views,
          stream,
          threadId: greeting.connectionId,
          capabilities: caps,
          status: ok.status,
          serverVersion: greeting.version,
          tls: tls !== "none",
          clientTracksState: (clientCapabilities & Cap.SESSION_TRACK) !== 0,
        };
      }
      if (head === ERR)
        throw authFailed(`server refused the gateway's login: ${parseErr(p.payload).message}`);
      if (head === EOF) {
        // AuthSwitchRequest: the account's own plugin; one the gateway does not speak fails closed there.
        if (++switches > 2) throw authFailed("the server keeps switching authentication plugins; refused");
        const sw = parseAuthSwitch(p.payload);
        const reply = pluginAnswer(sw.plugin, password, sw.data);
        plugin = sw.plugin;
        conn.write(packet(seq++, reply));
        continue;
      }
      if (head === 0x01 && plugin === CACHING_SHA2) {
        const reply = cachingSha2MoreData(p.payload, tls, password);
        if (reply) conn.write(packet(seq++, reply));
        continue;
      }
      throw authFailed("unexpected packet during upstream authentication");
    }
  } catch (err) {
    conn.destroy();
    if (err instanceof CustosError) throw err;
    throw new CustosError("upstream.protocol", `upstream handshake failed: ${(err as Error).message}`);
  }
}

/**
 * The session as the gateway lexes it, at login and after COM_RESET_CONNECTION (which returns every
 * session variable to its global value): the server reports every variable change and the schema in its
 * OK packets (session-state.ts watches them), and sql_mode holds only modes the gateway lexes alike
 * (ANSI_QUOTES turns "ssn" into a column, and no status flag reports it).
 */
export async function pinSession(
  stream: PacketStream,
  conn: { write(b: Uint8Array): void },
  deprecateEof: boolean,
  timeout: number,
): Promise<void> {
  conn.write(
    packet(
      0,
      new Uint8Array([
        Com.QUERY,
        ...utf8("SET SESSION session_track_system_variables = '*', SESSION session_track_schema = ON"),
      ]),
    ),
  );
  const set = await stream.nextWithin(timeout, "upstream session tracking");
  if (set.payload[0] !== OK)
    throw new CustosError(
      "upstream.protocol",
      `the server refused session state tracking: ${set.payload[0] === ERR ? parseErr(set.payload).message : "unexpected reply"}`,
    );
  const sqlMode = await scalar(stream, conn, "SELECT @@SESSION.sql_mode", deprecateEof, timeout);
  const unsafe = unsafeSqlMode(sqlMode ?? "");
  if (unsafe !== null)
    throw new CustosError(
      "upstream.protocol",
      `the server's sql_mode includes ${unsafe.toUpperCase()}, which the gateway does not lex alike; refused`,
    );
}

/** One text query's single value (the gateway's own, before the client's first command). */
async function scalar(
  stream: PacketStream,
  conn: { write(b: Uint8Array): void },
  sql: string,
  deprecateEof: boolean,
  timeout: number,
): Promise<string | null> {
  const values = await column(stream, conn, sql, deprecateEof, timeout);
  return values[values.length - 1] ?? null;
}

/** One text query's single column, every row (the gateway's own queries, before the client's first). */
async function column(
  stream: PacketStream,
  conn: { write(b: Uint8Array): void },
  sql: string,
  deprecateEof: boolean,
  timeout: number,
): Promise<(string | null)[]> {
  conn.write(packet(0, new Uint8Array([Com.QUERY, ...utf8(sql)])));
  const first = await stream.nextWithin(timeout, "upstream settings query");
  if (first.payload[0] === ERR)
    throw new CustosError("upstream.protocol", `settings query failed: ${parseErr(first.payload).message}`);
  const columns = new Reader(first.payload).lenenc();
  if (columns !== 1) throw new CustosError("upstream.protocol", "unexpected settings query result");
  await stream.nextWithin(timeout, "upstream settings query"); // column definition
  if (!deprecateEof) await stream.nextWithin(timeout, "upstream settings query");
  const values: (string | null)[] = [];
  for (;;) {
    const p = await stream.nextWithin(timeout, "upstream settings query");
    if (p.payload[0] === ERR)
      throw new CustosError("upstream.protocol", `settings query failed: ${parseErr(p.payload).message}`);
    if (p.payload[0] === EOF && (deprecateEof || isEofPacket(p.payload))) return values;
    if (values.length >= 100_000)
      throw new CustosError("upstream.protocol", "too many rows in a settings query");
    const v = textRowValues(p.payload, 1)[0];
    values.push(v ? text(p.payload.subarray(v[0], v[1])) : null);
  }
}
