// Opens an authenticated connection to the upstream PostgreSQL server with the credentials only the
// gateway holds: TLS negotiation, startup, SCRAM-SHA-256 / md5 / cleartext / trust, then collects the
// server's ParameterStatus and BackendKeyData up to the first ReadyForQuery.
import { CustosError } from "../../core/errors.ts";
import { type Conn, upgradeToTls } from "../../net/conn.ts";
import { dial } from "../../net/listen.ts";
import * as codec from "./codec.ts";
import { parameterProblem } from "./parameter-watch.ts";
import { clientFinal, clientFirst, md5Password, type ScramState, verifyServerFinal } from "./scram.ts";
import type { PostgresTarget } from "./target.ts";

export interface UpstreamLink {
  conn: Conn;
  pid: number;
  secret: number;
  /** ParameterStatus messages as sent by the server, to replay to the client. */
  parameters: Uint8Array[];
  /** Notices sent during startup, to replay too. */
  notices: Uint8Array[];
  tls: boolean;
  /** Bytes received after the first ReadyForQuery (none in practice; kept so nothing is lost). */
  leftover: Uint8Array[];
}

const MAX_STARTUP_MESSAGE = 1 << 20;

/**
 * `settings` are the start-up settings the session allowed (startup-params.ts upstreamSettings), sent
 * as they are; the user and database are the target's.
 */
export async function connectUpstream(
  target: PostgresTarget,
  settings: Record<string, string>,
): Promise<UpstreamLink> {
  const timeoutMs = target.connectTimeoutMs ?? 10_000;
  let conn: Conn;
  try {
    conn = await dial({ host: target.host, port: target.port }, timeoutMs);
  } catch (err) {
    throw new CustosError("upstream.unreachable", "upstream server is unreachable", {
      host: target.host,
      port: target.port,
      errno: (err as NodeJS.ErrnoException).code ?? null,
      error: (err as Error).message,
    });
  }
  try {
    return await withTimeout(handshake(conn, target, settings), timeoutMs);
  } catch (err) {
    conn.destroy();
    throw err instanceof CustosError
      ? err
      : new CustosError("upstream.unreachable", "upstream server is unreachable", {
          error: (err as Error).message,
        });
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`upstream handshake timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** Reads messages from a Conn one at a time during the handshake. */
class HandshakeReader {
  private framer = new codec.MessageFramer(MAX_STARTUP_MESSAGE);
  private messages: Uint8Array[] = [];
  private raw: Uint8Array[] = [];
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;
  rawMode = false;

  constructor(readonly conn: Conn) {
    conn.events = {
      data: (chunk) => {
        if (this.rawMode) this.raw.push(chunk);
        else this.framer.push(chunk, (_t, m) => this.messages.push(m));
        this.wake();
      },
      close: (error) => {
        this.failure = error ?? new Error("upstream closed the connection");
        this.wake();
      },
    };
  }
  private wake() {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
  private async wait(): Promise<void> {
    if (this.failure) throw this.failure;
    await new Promise<void>((r) => {
      this.waiter = r;
    });
    if (this.failure && this.messages.length === 0 && this.raw.length === 0) throw this.failure;
  }
  async byte(): Promise<number> {
    this.rawMode = true;
    while (this.raw.length === 0) await this.wait();
    const first = this.raw[0]!;
    if (first.length !== 1 || this.raw.length > 1) {
      // A server must not send anything after its SSLRequest answer before the handshake (CVE-2021-23222).
      throw new CustosError("upstream.protocol", "upstream sent unexpected data after the SSL answer");
    }
    this.raw = [];
    this.rawMode = false;
    return first[0]!;
  }
  async message(): Promise<Uint8Array> {
    while (this.messages.length === 0) await this.wait();
    return this.messages.shift()!;
  }
  /** Anything already framed beyond the handshake. */
  drainRest(): Uint8Array[] {
    const rest = this.messages;
    this.messages = [];
    return rest;
  }
}

async function handshake(conn: Conn, target: PostgresTarget, settings: Record<string, string>) {
  const reader = new HandshakeReader(conn);
  if (target.tls !== "disable") {
    conn.write(codec.sslRequest);
    const answer = await reader.byte();
    if (answer === 0x53 /* S */) {
      await upgradeToTls(
        conn,
        { ca: target.ca, verify: target.tls === "verify-full", serverName: target.host },
        false,
      );
    } else if (answer !== 0x4e /* N */) {
      throw new CustosError("upstream.protocol", "upstream answered SSLRequest with an unexpected byte");
    } else if (target.tls === "require" || target.tls === "verify-full") {
      throw new CustosError("upstream.unreachable", "upstream server does not offer TLS, which is required");
    }
  }

  conn.write(codec.startupMessage({ ...settings, user: target.user, database: target.database }));

  let scram: ScramState | null = null;
  const parameters: Uint8Array[] = [];
  const notices: Uint8Array[] = [];
  let pid = 0;
  let secret = 0;
  const password = () => {
    if (!target.password) {
      throw new CustosError("upstream.auth_failed", "upstream asked for a password but none is configured");
    }
    return target.password.reveal();
  };

  for (;;) {
    const m = await reader.message();
    switch (m[0]) {
      case 0x52 /* R */:
        {
          const auth = codec.decodeAuthentication(m);
          if (auth.kind === "ok") break;
          if (auth.kind === "cleartext") conn.write(codec.passwordMessage(password()));
          else if (auth.kind === "md5")
            conn.write(codec.passwordMessage(md5Password(target.user, password(), auth.salt)));
          else if (auth.kind === "sasl") {
            if (!auth.mechanisms.includes("SCRAM-SHA-256")) {
              throw new CustosError("upstream.auth_failed", "upstream offers no supported SASL mechanism", {
                mechanisms: auth.mechanisms,
              });
            }
            const first = clientFirst(password());
            scram = first.state;
            conn.write(codec.saslInitialResponse("SCRAM-SHA-256", first.message));
          } else if (auth.kind === "sasl-continue" && scram) {
            conn.write(codec.saslResponse(clientFinal(scram, auth.data)));
          } else if (auth.kind === "sasl-final" && scram) {
            if (!verifyServerFinal(scram, auth.data)) {
              throw new CustosError(
                "upstream.auth_failed",
                "upstream server failed to prove the SCRAM exchange",
              );
            }
          } else {
            throw new CustosError(
              "upstream.auth_failed",
              "upstream requires an unsupported authentication method",
              {
                method: auth.kind === "other" ? auth.code : auth.kind,
              },
            );
          }
          break;
        }
      case 0x45 /* E */:
        {
          const f = codec.decodeFields(m);
          const code = f.C ?? "";
          const kind = code.startsWith("28") ? "upstream.auth_failed" : "upstream.unreachable";
          // A start-up setting the server refused (22023 invalid_parameter_value, 42704): the client's own
          // value, so the server's words help it; anything else stays in the audit detail.
          const setting = code.startsWith("22") || code === "42704";
          throw new CustosError(
            kind,
            kind === "upstream.auth_failed"
              ? "upstream rejected the gateway's credentials"
              : setting
                ? `upstream refused the connection: ${f.M ?? code}`
                : "upstream refused the connection",
            {
              sqlstate: code,
              message: f.M,
            },
          );
        }
      case 0x53 /* S */:
        {
          const problem = parameterProblem(m);
          if (problem) throw problem;
          parameters.push(m);
          break;
        }
      case 0x4b /* K */:
        ({ pid, secret } = codec.decodeBackendKeyData(m));
        break;
      case 0x4e /* N */:
        notices.push(m);
        break;
      case 0x76 /* v NegotiateProtocolVersion */:
        break;
      case 0x5a /* Z */:
        conn.events = null;
        return { conn, pid, secret, parameters, notices, tls: conn.tls, leftover: reader.drainRest() };
      default:
        throw new CustosError(
          "upstream.protocol",
          `unexpected message '${String.fromCharCode(m[0]!)}' during startup`,
        );
    }
  }
}
