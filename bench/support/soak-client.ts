// One PostgreSQL session for the soak test: a minimal raw wire client (startup, cleartext password = the
// Custos token, simple queries one at a time), so a thousand of them cost the driver process little.
// Every ErrorResponse, unexpected close or unanswered query is an error the soak counts.
import { CustosError } from "../../src/core/errors.ts";
import {
  decodeAuthentication,
  decodeFields,
  MessageFramer,
  passwordMessage,
  query,
  startupMessage,
  terminate,
} from "../../src/protocols/postgres/codec.ts";

export interface QueryResult {
  rows: number;
  /** The first ErrorResponse's message, when the server sent one. */
  error?: string;
  /** The DataRow bytes, concatenated (for a fixture-value check on a sample of masked reads). */
  data?: Uint8Array;
}

interface Pending {
  rows: number;
  error?: string;
  keep: Uint8Array[] | null;
  resolve(r: QueryResult): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class SoakSession {
  /** Why the session is gone, once it is. */
  closed: string | null = null;
  private pending: Pending | null = null;
  private constructor(private readonly socket: Bun.Socket<SoakSession>) {}

  static open(port: number, user: string, database: string, password: string, timeoutMs = 30_000) {
    return new Promise<SoakSession>((resolve, reject) => {
      const framer = new MessageFramer(1 << 24);
      let session: SoakSession | null = null;
      let ready = false;
      const fail = (why: string) => {
        if (session) session.gone(why);
        if (!ready) {
          ready = true;
          clearTimeout(timer);
          reject(new CustosError("upstream.unreachable", `soak session: ${why}`));
        }
      };
      const timer = setTimeout(() => fail("no ReadyForQuery in time"), timeoutMs);
      Bun.connect<SoakSession>({
        hostname: "127.0.0.1",
        port,
        socket: {
          open(s) {
            session = new SoakSession(s);
            s.data = session;
            s.write(startupMessage({ user, database }));
          },
          data(s, chunk) {
            try {
              framer.push(chunk, (type, m) => {
                if (ready) return s.data.message(type, m);
                if (type === 0x52 /* 'R' */) {
                  const auth = decodeAuthentication(m);
                  if (auth.kind === "cleartext") s.write(passwordMessage(password));
                  else if (auth.kind !== "ok") fail(`unsupported authentication ${auth.kind}`);
                } else if (type === 0x45 /* 'E' */) {
                  fail(`refused: ${decodeFields(m).M ?? "ErrorResponse"}`);
                  s.end();
                } else if (type === 0x5a /* 'Z' ReadyForQuery */) {
                  ready = true;
                  clearTimeout(timer);
                  resolve(s.data);
                }
              });
            } catch (e) {
              fail(String(e));
              s.end();
            }
          },
          close() {
            fail("connection closed");
          },
          error(_s, e) {
            fail(e.message);
          },
        },
      }).catch((e: Error) => fail(e.message));
    });
  }

  get busy(): boolean {
    return this.pending !== null;
  }

  /** One simple-protocol query; resolves at ReadyForQuery. `keep` asks for the DataRow bytes too. */
  query(text: string, keep = false, timeoutMs = 30_000): Promise<QueryResult> {
    if (this.closed) return Promise.reject(new Error(`session closed: ${this.closed}`));
    if (this.pending) return Promise.reject(new Error("a query is already running on this session"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.gone(`no answer to a query in ${timeoutMs} ms`), timeoutMs);
      this.pending = { rows: 0, keep: keep ? [] : null, resolve, reject, timer };
      this.socket.write(query(text));
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = "closed by the soak";
    this.socket.write(terminate);
    this.socket.end();
  }

  private message(type: number, m: Uint8Array): void {
    const p = this.pending;
    if (!p) return;
    if (type === 0x44 /* 'D' DataRow */) {
      p.rows++;
      p.keep?.push(m.slice());
    } else if (type === 0x45 /* 'E' */) p.error ??= decodeFields(m).M ?? "ErrorResponse";
    else if (type === 0x5a /* 'Z' */) {
      this.pending = null;
      clearTimeout(p.timer);
      p.resolve({
        rows: p.rows,
        ...(p.error ? { error: p.error } : {}),
        ...(p.keep ? { data: Buffer.concat(p.keep) } : {}),
      });
    }
  }

  private gone(why: string): void {
    if (this.closed) return;
    this.closed = why;
    const p = this.pending;
    this.pending = null;
    if (p) {
      clearTimeout(p.timer);
      p.reject(new Error(why));
    }
    this.socket.end();
  }
}
