// The approvals webhook: a Slack-compatible JSON message (`text` + `blocks`, plus a `custos` object for
// machines), POSTed with an HMAC-SHA256 signature over "<timestamp>.<raw body>" so a receiver can check it
// came from the gateway and refuse replays; retried with exponential backoff. Never blocks a session.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Logger } from "../core/log.ts";

export const SIGNATURE_HEADER = "x-custos-signature";
export const TIMESTAMP_HEADER = "x-custos-timestamp";

export interface WebhookMessage {
  /** request.created, request.approved, request.denied, request.expired, request.abandoned, grant.revoked… */
  event: string;
  /** One line for humans (Slack's notification text). */
  title: string;
  /** Markdown-ish lines shown under the title. */
  lines: string[];
  /** What a machine needs: ids, status, connection, requester. Never secrets. */
  data: Record<string, unknown>;
}

export interface WebhookOptions {
  url: string;
  secret: string;
  logger: Logger;
  attempts?: number;
  backoffMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export function sign(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** For receivers (and tests): true when the signature matches and the timestamp is within tolerance. */
export function verifySignature(
  secret: string,
  headers: { signature: string | null; timestamp: string | null },
  body: string,
  toleranceSec = 300,
  nowMs = Date.now(),
): boolean {
  const ts = Number(headers.timestamp);
  if (!headers.signature || !Number.isInteger(ts)) return false;
  if (Math.abs(nowMs / 1000 - ts) > toleranceSec) return false;
  const want = Buffer.from(sign(secret, ts, body));
  const got = Buffer.from(headers.signature);
  return want.length === got.length && timingSafeEqual(want, got);
}

export function slackBody(m: WebhookMessage): string {
  return JSON.stringify({
    text: m.title,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `*${m.title}*` } },
      ...(m.lines.length ? [{ type: "section", text: { type: "mrkdwn", text: m.lines.join("\n") } }] : []),
      { type: "context", elements: [{ type: "mrkdwn", text: `custos · ${m.event}` }] },
    ],
    custos: { event: m.event, ...m.data },
  });
}

export interface Webhook {
  send(m: WebhookMessage): void;
  /** Resolves when every delivery started so far has finished (or given up). */
  idle(): Promise<void>;
}

export function createWebhook(opts: WebhookOptions): Webhook {
  const attempts = opts.attempts ?? 5;
  const backoff = opts.backoffMs ?? 500;
  const timeout = opts.timeoutMs ?? 5000;
  const doFetch = opts.fetch ?? fetch;
  const inFlight = new Set<Promise<void>>();

  async function deliver(m: WebhookMessage): Promise<void> {
    const body = slackBody(m);
    for (let i = 0; i < attempts; i++) {
      // A fresh timestamp (and signature) per attempt: a retry is not a replay.
      const ts = Math.floor(Date.now() / 1000);
      try {
        const res = await doFetch(opts.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            [TIMESTAMP_HEADER]: String(ts),
            [SIGNATURE_HEADER]: sign(opts.secret, ts, body),
          },
          body,
          signal: AbortSignal.timeout(timeout),
        });
        await res.body?.cancel();
        if (res.ok) return;
        // Client errors other than throttling will not improve with a retry.
        if (res.status < 500 && res.status !== 429 && res.status !== 408) {
          opts.logger.warn("approval webhook refused", { status: res.status, event: m.event });
          return;
        }
        opts.logger.warn("approval webhook failed; retrying", { status: res.status, attempt: i + 1 });
      } catch (err) {
        opts.logger.warn("approval webhook failed; retrying", { error: String(err), attempt: i + 1 });
      }
      if (i + 1 < attempts) await Bun.sleep(backoff * 2 ** i);
    }
    opts.logger.error("approval webhook gave up", { event: m.event, attempts });
  }

  return {
    send(m) {
      const p = deliver(m).catch(() => {});
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    },
    async idle() {
      await Promise.all([...inFlight]);
    },
  };
}
