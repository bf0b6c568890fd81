// Shared pieces of the approvals end-to-end tests: the CLI run as a real subprocess, the API as an
// approver sees it, and a webhook receiver on loopback.
import { join } from "node:path";
import { freePort } from "../support/free-port.ts";
import type { TestGateway } from "../support/gateway.ts";

const ROOT = join(import.meta.dir, "../..");

/** Runs `custos …` (src/cli/main.ts under this Bun) without blocking the gateway in this process. */
export async function cli(args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([process.execPath, join(ROOT, "src/cli/main.ts"), ...args], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, CUSTOS_TOKEN: "", ...env },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code };
}

export const gatewayFlag = (gw: TestGateway) => ["--gateway", `http://127.0.0.1:${gw.httpPort}`];

export async function api(gw: TestGateway, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${gw.httpPort}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

/** Waits until a pending statement request with this text shows up for the approver; returns it. */
export async function pendingFor(gw: TestGateway, approver: string, text: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { json } = await api(gw, approver, "GET", "/approvals?status=pending&kind=statement");
    const found = (json.requests as Record<string, any>[] | undefined)?.find(
      (r) => r.statement?.text === text,
    );
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no pending request for ${text} within ${timeoutMs} ms`);
    await Bun.sleep(50);
  }
}

export interface Receiver {
  url: string;
  received: { headers: Headers; body: string }[];
  /** Answers 500 to the next n deliveries (to see retries). */
  failNext(n: number): void;
  stop(): void;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Receiver["received"] = [];
  let failing = 0;
  const port = await freePort();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port,
    async fetch(req) {
      const body = await req.text();
      if (failing > 0) {
        failing--;
        return new Response("try later", { status: 500 });
      }
      received.push({ headers: req.headers, body });
      return new Response("ok");
    },
  });
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    failNext: (n) => {
      failing = n;
    },
    stop: () => void server.stop(true),
  };
}
