// A raw MySQL client for tests that need commands no driver sends (COM_FIELD_LIST) or bytes no driver
// shows (the greeting before login): TLS, mysql_clear_password with the token, then packets in and out,
// with every byte received kept so fixture values can be counted in all of it.
import { upgradeToTls } from "../../src/net/conn.ts";
import { dial } from "../../src/net/listen.ts";
import { Cap, concat, type Packet, packet } from "../../src/protocols/mysql/codec.ts";
import {
  CLEAR,
  type Greeting,
  handshakeResponsePayload,
  parseGreeting,
  sslRequestPayload,
} from "../../src/protocols/mysql/handshake.ts";
import { PacketStream } from "../../src/protocols/mysql/packet-stream.ts";

export interface RawMysql {
  greeting: Greeting;
  /** The login's last packet (OK or ERR). */
  login: Packet;
  /** Every byte received after TLS began, decoded latin1 (so any byte sequence is searchable). */
  received(): string;
  /** Sends one command (sequence 0) and reads packets until `done` says the response ended. */
  command(payload: Uint8Array, done: (p: Packet) => boolean): Promise<Packet[]>;
  close(): void;
}

export const RAW_CAPS =
  Cap.LONG_PASSWORD |
  Cap.PROTOCOL_41 |
  Cap.SECURE_CONNECTION |
  Cap.PLUGIN_AUTH |
  Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA |
  Cap.CONNECT_WITH_DB |
  Cap.TRANSACTIONS |
  Cap.MULTI_RESULTS;

export async function rawMysql(
  port: number,
  token: string,
  database = "loans",
  capabilities = RAW_CAPS,
): Promise<RawMysql> {
  const conn = await dial({ host: "127.0.0.1", port }, 5000);
  const chunks: Uint8Array[] = [];
  let stream = new PacketStream(conn, 1 << 24, "upstream");
  const hello = await stream.nextWithin(5000, "greeting");
  const greeting = parseGreeting(hello.payload);
  conn.write(packet(1, sslRequestPayload(capabilities)));
  await upgradeToTls(conn, { verify: false }, false);
  stream = new PacketStream(conn, 1 << 24, "upstream");
  stream.onBytes = (chunk) => void chunks.push(chunk.slice());
  conn.write(
    packet(
      2,
      handshakeResponsePayload({
        capabilities: capabilities | Cap.SSL,
        user: "agent",
        auth: new TextEncoder().encode(`${token}\0`),
        database,
        plugin: CLEAR,
      }),
    ),
  );
  const login = await stream.nextWithin(10_000, "login");
  return {
    greeting,
    login,
    received: () => Buffer.from(concat(chunks)).toString("latin1"),
    async command(payload, done) {
      conn.write(packet(0, payload));
      const out: Packet[] = [];
      for (;;) {
        const p = await stream.nextWithin(10_000, "response");
        out.push(p);
        if (done(p)) return out;
      }
    },
    close: () => conn.destroy(),
  };
}
