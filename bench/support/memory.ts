// Memory of the gateway process: RSS from /proc, sampled while load runs, and the cost of an idle session
// measured by holding N authenticated sessions open with a minimal raw client.
import { readFileSync } from "node:fs";
import { CustosError } from "../../src/core/errors.ts";
import {
  decodeAuthentication,
  MessageFramer,
  passwordMessage,
  startupMessage,
  terminate,
} from "../../src/protocols/postgres/codec.ts";
import type { Endpoint } from "./targets.ts";

/** Resident set size of a process in KiB (VmRSS), or NaN when it is gone. */
export function rssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Samples RSS every `everyMs` until stopped; returns the peak. */
export function sampleRss(pid: number, everyMs = 200): { stop(): number } {
  let peak = rssKb(pid);
  const t = setInterval(() => {
    const v = rssKb(pid);
    if (v > peak) peak = v;
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      return Math.max(peak, rssKb(pid));
    },
  };
}

export interface IdleSession {
  close(): void;
}

/** Opens one session: startup, cleartext password (the token), wait for ReadyForQuery. */
export function openIdleSession(ep: Endpoint, timeoutMs = 20_000): Promise<IdleSession> {
  return new Promise((resolve, reject) => {
    const framer = new MessageFramer(1 << 20);
    let done = false;
    const fail = (why: string) => {
      if (done) return;
      done = true;
      reject(new CustosError("upstream.unreachable", `idle session to ${ep.name}: ${why}`));
    };
    const timer = setTimeout(() => fail("no ReadyForQuery in time"), timeoutMs);
    Bun.connect({
      hostname: "127.0.0.1",
      port: ep.port,
      socket: {
        open(s) {
          s.write(startupMessage({ user: ep.user, database: ep.database }));
        },
        data(s, chunk) {
          try {
            framer.push(chunk, (type, m) => {
              if (type === 0x52 /* 'R' */) {
                const auth = decodeAuthentication(m);
                if (auth.kind === "cleartext") s.write(passwordMessage(ep.password));
                else if (auth.kind !== "ok") {
                  fail(`unsupported authentication ${auth.kind}`);
                  s.end();
                }
              } else if (type === 0x45 /* 'E' ErrorResponse */) {
                fail("server answered with an ErrorResponse");
                s.end();
              } else if (type === 0x5a /* 'Z' ReadyForQuery */ && !done) {
                done = true;
                clearTimeout(timer);
                resolve({
                  close() {
                    s.write(terminate);
                    s.end();
                  },
                });
              }
            });
          } catch (e) {
            fail(String(e));
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

/** Opens `count` sessions, `parallel` at a time. On any failure, closes what was opened and throws. */
export async function openIdleSessions(ep: Endpoint, count: number, parallel = 16): Promise<IdleSession[]> {
  const open: IdleSession[] = [];
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < count) {
          next++;
          open.push(await openIdleSession(ep));
        }
      }),
    );
  } catch (e) {
    for (const s of open) s.close();
    throw e;
  }
  return open;
}
