// Statements held for approval in one MySQL session. MySQL has no asynchronous notice (PostgreSQL's
// NoticeResponse), so a client that waits silently cannot learn the request id. The gateway waits a short
// while (`held_reply`) for the review to end; if it has not, the client gets an ERR naming the request and
// `custos approve ID`, and the request stays open, bound to this session and to the exact statement (text
// and bound parameters). Once approved, the client's next identical statement in this session within the
// retry window (`held_retry_window`) runs, once; the one after that is a new request.
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";

/** Held statements one session may keep open at once (ENFORCEMENT rule 7). */
export const MAX_HELD = 16;

interface Held {
  requestId: string | null;
  /** The review's outcome; settles once (approved, denied, expired, abandoned). */
  outcome: Promise<Decision>;
  settled: Decision | null;
  timer: ReturnType<typeof setTimeout> | null;
}

export type HeldAnswer =
  | { state: "decided"; decision: Decision }
  | { state: "held"; requestId: string | null; again: boolean };

/** The statement a retry must repeat: its kind of execution, text and bound parameter bytes. */
export function heldKey(command: Command, params: readonly (Uint8Array | null)[] | undefined): string {
  let key = `${command.keyword ?? ""}\u0000${command.text}`;
  for (const p of params ?? []) key += p === null ? "\u0000N" : `\u0000${Buffer.from(p).toString("base64")}`;
  return key;
}

export class HeldStatements {
  private readonly byKey = new Map<string, Held>();

  constructor(
    private readonly replyMs: number,
    private readonly retryMs: number,
    /** An approved statement nobody ran again within the window (or before the session ended). */
    private readonly unused: (requestId: string | null, why: string) => void,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /**
   * A new review: waits up to `held_reply` for its outcome. Decided in time, the decision is returned
   * and nothing is kept; otherwise the request is kept under `key` and the client is to be told it is held.
   */
  async start(
    key: string,
    review: (notify: (requestId: string) => void) => Promise<Decision>,
  ): Promise<HeldAnswer> {
    const held: Held = {
      requestId: null,
      outcome: Promise.resolve(null as never),
      settled: null,
      timer: null,
    };
    held.outcome = review((id) => {
      held.requestId = id;
    });
    const early = await within(held.outcome, this.replyMs);
    if (early) return { state: "decided", decision: early };
    this.byKey.set(key, held);
    void held.outcome.then((d) => {
      held.settled = d;
      if (this.byKey.get(key) !== held) return;
      held.timer = setTimeout(() => {
        if (this.byKey.get(key) !== held) return;
        this.byKey.delete(key);
        if (d.action === "allow") this.unused(held.requestId, "not run again within held_retry_window");
      }, this.retryMs);
      held.timer.unref?.();
    });
    return { state: "held", requestId: held.requestId, again: false };
  }

  /**
   * The client sent a held statement again: its outcome once (then forgotten, so the next one is a new
   * request), or, still pending after another `held_reply`, held again under the same request.
   */
  async retry(key: string): Promise<HeldAnswer> {
    const held = this.byKey.get(key);
    if (!held) throw new Error("no held statement under this key");
    const d = held.settled ?? (await within(held.outcome, this.replyMs));
    if (!d) return { state: "held", requestId: held.requestId, again: true };
    this.byKey.delete(key);
    if (held.timer) clearTimeout(held.timer);
    return { state: "decided", decision: d };
  }

  /** The session ended: pending reviews are abandoned by the session itself; approvals left unused are said. */
  clear(): void {
    for (const held of this.byKey.values()) {
      if (held.timer) clearTimeout(held.timer);
      if (held.settled?.action === "allow") this.unused(held.requestId, "the session ended before it ran");
    }
    this.byKey.clear();
  }
}

/** The promise's value if it settles within `ms`, else null (the promise keeps running). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
