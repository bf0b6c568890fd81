// Pairs the server's responses with the client requests that caused them (the way pgdog's state queue
// does): each forwarded request that expects an answer is queued, and server messages complete the head.
// In the extended protocol an ErrorResponse makes the server skip everything up to the next Sync, so the
// tracker skips the same entries. Pure bookkeeping: no I/O.
import * as codec from "./codec.ts";

export type RequestKind = "query" | "parse" | "bind" | "describe" | "execute" | "close" | "sync" | "function";

export interface CommandResult {
  tags: string[];
  rows: number;
  error: { code: string; message: string } | null;
  /** True when the server skipped the request after an earlier error in the same pipeline. */
  skipped: boolean;
}

export interface Pending<C> {
  kind: RequestKind;
  /** A request the gateway added itself (a Describe for masking): its responses are not forwarded. */
  internal: boolean;
  /**
   * Its ReadyForQuery is not forwarded: the gateway's own BEGIN around an autocommit write, and that write,
   * whose transaction the gateway closes (the client sees the ReadyForQuery of the gateway's COMMIT).
   */
  hideReady: boolean;
  /**
   * An internal request whose ErrorResponse still reaches the client: the gateway's COMMIT, where a deferred
   * constraint failing is the client's statement failing.
   */
  showErrors: boolean;
  /** Masking state for this request's results, from TrackerEvents.maskOf or given to expect(). */
  mask: unknown;
  /** Query and Execute carry the command being run; its result is reported on completion. */
  command: C | null;
  /** Changes to the session's objects that this request makes once the server confirms it (objects.ts). */
  effects: unknown;
  /** Set when the request was a gateway substitution for a refused command: the server's error is replaced. */
  refusal: Uint8Array | null;
  result: CommandResult;
}

export interface TrackerEvents<C> {
  completed(pending: Pending<C>): void;
  /** The masking state of a command's results, or null when nothing is masked. */
  maskOf?(command: C): unknown;
  /** ReadyForQuery, after the requests it ends are completed: the server's transaction status. */
  ready?(status: "I" | "T" | "E"): void;
}

export interface ExpectOptions {
  internal?: boolean;
  mask?: unknown;
  effects?: unknown;
  hideReady?: boolean;
  showErrors?: boolean;
}

// Shared, never written: most requests (every Parse, Bind, Describe and Sync) take no options, and one
// object less per message is measurable on the extended protocol's hot path.
const NO_OPTIONS: ExpectOptions = Object.freeze({});
export const HIDE_READY: ExpectOptions = Object.freeze({ hideReady: true });

/** Returned by onServerMessage for a message that must not be forwarded. */
export const SWALLOW = new Uint8Array(0);

/** Rows affected, from a CommandComplete tag: "SELECT 3", "INSERT 0 2", "UPDATE 1", "COPY 10"… */
export function rowsFromTag(tag: string): number | null {
  const last = tag.lastIndexOf(" ");
  if (last === -1) return null;
  const n = Number(tag.slice(last + 1));
  return Number.isFinite(n) ? n : null;
}

// SQLSTATE of the syntax error that a refusal substitution provokes on the server (42601 syntax_error).
const SUBSTITUTION_ERROR = "42601";

export class ResponseTracker<C> {
  private queue: Pending<C>[] = [];
  private head = 0;
  /** Outstanding requests whose responses may be rewritten (refusals, masking, internal requests). */
  special = 0;
  /** Outstanding requests that may change the transaction status (queries, executes, syncs, calls). */
  statusChangesInFlight = 0;
  transactionStatus: "I" | "T" | "E" = "I";

  constructor(private readonly events: TrackerEvents<C>) {}

  get outstanding(): number {
    return this.queue.length - this.head;
  }

  expect(
    kind: RequestKind,
    command: C | null = null,
    refusal: Uint8Array | null = null,
    extra: ExpectOptions = NO_OPTIONS,
  ): void {
    const mask = extra.mask ?? (command && this.events.maskOf ? this.events.maskOf(command) : null) ?? null;
    const internal = extra.internal ?? false;
    const hideReady = extra.hideReady ?? false;
    if (refusal || internal || mask || hideReady) this.special++;
    if (changesStatus(kind)) this.statusChangesInFlight++;
    this.queue.push({
      kind,
      command,
      refusal,
      internal,
      hideReady,
      showErrors: extra.showErrors ?? false,
      mask,
      effects: extra.effects ?? null,
      result: { tags: NO_TAGS, rows: 0, error: null, skipped: false },
    });
  }

  /** The requests still unanswered, in order, forgotten here: the session ended before they completed. */
  abandon(): Pending<C>[] {
    const left = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    this.special = 0;
    this.statusChangesInFlight = 0;
    return left;
  }

  /** The request the next server message answers. */
  current(): Pending<C> | undefined {
    return this.queue[this.head];
  }

  private complete(): void {
    const p = this.queue[this.head++];
    if (p && (p.refusal || p.internal || p.mask || p.hideReady)) this.special--;
    if (p && changesStatus(p.kind)) this.statusChangesInFlight--;
    // A completed request is not kept: a drained queue starts over (the common case, one statement at a
    // time), so a long-lived session does not hold its last ~1,000 statements (commands, decisions, results)
    // until the compaction below, which only a pipeline that never drains still needs.
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (p) this.events.completed(p);
  }

  /**
   * Accounts for one server message. Returns a replacement for the message when the gateway must rewrite it
   * (the error a refusal provoked), or null to forward it unchanged.
   */
  onServerMessage(type: number, message: Uint8Array): Uint8Array | null {
    const p = this.current();
    switch (type) {
      case 0x44 /* D DataRow */:
        if (p) p.result.rows++;
        return null;
      case 0x43 /* C CommandComplete */:
        {
          if (!p) return null;
          addTag(p.result, codec.decodeCommandComplete(message));
          if (p.kind === "execute") this.complete();
          return p.internal ? SWALLOW : null;
        }
      case 0x5a /* Z ReadyForQuery */:
        {
          this.transactionStatus = codec.decodeReadyForQuery(message);
          // Everything up to and including the Sync (or simple Query) that this answers is done.
          let hidden = false;
          while (this.current()) {
            const kind = this.current()!.kind;
            if (kind === "sync" || kind === "query" || kind === "function") {
              hidden = this.current()!.hideReady;
              this.complete();
              break;
            }
            this.current()!.result.skipped = true;
            this.complete();
          }
          this.events.ready?.(this.transactionStatus);
          return hidden ? SWALLOW : null;
        }
      case 0x45 /* E ErrorResponse */:
        {
          if (!p) return null;
          const fields = codec.decodeFields(message);
          p.result.error = { code: fields.C ?? "", message: fields.M ?? "" };
          const replacement =
            p.internal && !p.showErrors
              ? SWALLOW
              : p.refusal && fields.C === SUBSTITUTION_ERROR
                ? p.refusal
                : null;
          if (p.kind !== "query" && p.kind !== "function" && p.kind !== "sync") {
            // Extended protocol: the server now discards messages until Sync.
            this.complete();
            while (this.current() && this.current()!.kind !== "sync") {
              this.current()!.result.skipped = true;
              this.complete();
            }
          }
          return replacement;
        }
      case 0x31 /* 1 ParseComplete */:
      case 0x32 /* 2 BindComplete */:
      case 0x33 /* 3 CloseComplete */:
      case 0x6e /* n NoData */:
        if (p) this.complete();
        return p?.internal ? SWALLOW : null;
      case 0x54 /* T RowDescription */:
        if (p?.kind === "describe") this.complete();
        return p?.internal ? SWALLOW : null;
      case 0x73 /* s PortalSuspended */:
        if (p?.kind === "execute") {
          addTag(p.result, "SUSPENDED");
          this.complete();
        }
        return null;
      case 0x49 /* I EmptyQueryResponse */:
        if (p?.kind === "execute") this.complete();
        return null;
      case 0x56 /* V FunctionCallResponse */:
        return null;
      default:
        // t ParameterDescription, G/H/W copy responses, d/c copy data, N, A, S: part of the current
        // request or asynchronous; nothing to pair.
        return null;
    }
  }
}

// Most requests (Parse, Bind, Describe, Sync) complete without a tag: they share this empty list, never
// written (addTag gives a request its own list at its first tag).
const NO_TAGS: string[] = Object.freeze([]) as unknown as string[];

function addTag(result: CommandResult, tag: string): void {
  if (result.tags === NO_TAGS) result.tags = [tag];
  else result.tags.push(tag);
}

function changesStatus(kind: RequestKind): boolean {
  return kind === "query" || kind === "execute" || kind === "sync" || kind === "function";
}
