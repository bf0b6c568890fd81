// A small HTTP receiver of the test's own for the HTTP sinks: checks the auth each shape carries (HMAC
// signature, Bearer or Splunk token), keeps every accepted body, and can go down and come back on its port.
import { createHmac, timingSafeEqual } from "node:crypto";

export interface Receiver {
  port: number;
  /** Records accepted, in arrival order, per path. */
  records: Map<string, Record<string, unknown>[]>;
  rawBodies: string[];
  refused: number;
  start(): void;
  stop(): void;
}

export function startReceiver(opts: { port: number; hmacKey: string; hecToken: string }): Receiver {
  let server: ReturnType<typeof Bun.serve> | null = null;
  const r: Receiver = {
    port: opts.port,
    records: new Map(),
    rawBodies: [],
    refused: 0,
    start() {
      server = Bun.serve({
        hostname: "127.0.0.1",
        port: opts.port,
        async fetch(req) {
          const path = new URL(req.url).pathname;
          const body = await req.text();
          let records: Record<string, unknown>[];
          if (path === "/services/collector") {
            if (req.headers.get("authorization") !== `Splunk ${opts.hecToken}`) return refuse();
            records = body
              .split("\n")
              .filter(Boolean)
              .map((l) => JSON.parse(l));
          } else {
            const ts = req.headers.get("x-custos-timestamp") ?? "";
            const sig = req.headers.get("x-custos-signature") ?? "";
            const want = `sha256=${createHmac("sha256", opts.hmacKey).update(`${ts}.${body}`).digest("hex")}`;
            if (sig.length !== want.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(want)))
              return refuse();
            records = JSON.parse(body);
          }
          r.rawBodies.push(body);
          r.records.set(path, [...(r.records.get(path) ?? []), ...records]);
          return new Response(path === "/services/collector" ? '{"text":"Success","code":0}' : "ok");
        },
      });
    },
    stop() {
      server?.stop(true);
      server = null;
    },
  };
  const refuse = () => {
    r.refused++;
    return new Response("unauthorized", { status: 401 });
  };
  r.start();
  return r;
}
