// Anchors: places outside the gateway's host where each signed checkpoint (and the gateway's public key) is
// published as it is made, so an attacker who rewrites the store (and even re-signs with the key in
// data_dir) cannot also rewrite what the operator already holds. `audit verify --anchor` reads them back.
// File and HTTP anchors live in anchors/; SIEM sinks implement the same contract (checkpoints travel in the
// stream). Publishing never blocks the recorder: the publisher queues, retries with backoff and reports.

import { signedNote } from "./checkpoint.ts";
import type { CheckpointRow } from "./store.ts";
import { noteVerifierKey, publicKeyFingerprint } from "./trust.ts";

/** A signed checkpoint as anchors receive it: the row, and the same as a C2SP signed note. */
export interface AnchoredCheckpoint {
  logId: string;
  size: number;
  rootHash: Uint8Array;
  /** Epoch ms the checkpoint was signed. */
  time: number;
  /** The C2SP signed note (checkpoint.ts signedNote), what `audit verify --trusted-checkpoint` reads. */
  note: string;
}

/** The gateway's public key as anchors receive it. */
export interface AnchorPublicKey {
  /** Raw 32-byte Ed25519 key. */
  raw: Uint8Array;
  /** `SHA256:<hex>` of the raw key: what an operator compares by eye. */
  fingerprint: string;
  /** C2SP note verifier key `<name>+<keyhash hex>+<base64(0x01 || key)>`, the key file's line. */
  vkey: string;
}

/**
 * One anchor. publish() is called for every checkpoint in order (the latest is what matters: a later
 * checkpoint proves every earlier one by consistency) and may throw; the publisher retries it.
 */
export interface CheckpointAnchor {
  readonly name: string;
  publish(checkpoint: AnchoredCheckpoint, publicKey: AnchorPublicKey): Promise<void>;
  close?(): Promise<void>;
}

export interface AnchorStatus {
  name: string;
  published: number;
  failures: number;
  /** Size of the last checkpoint this anchor accepted, per the publisher's latest log. */
  lastPublishedSize: number | null;
  /** Checkpoints waiting (after a failure, or in flight). */
  pending: number;
  lastError: string | null;
  lastErrorAt: number | null;
}

export function anchoredCheckpoint(cp: CheckpointRow, publicKey: Uint8Array): AnchoredCheckpoint {
  return {
    logId: cp.logId,
    size: cp.size,
    rootHash: cp.rootHash,
    time: cp.time,
    note: signedNote(cp, publicKey),
  };
}

export function anchorPublicKey(raw: Uint8Array, logId: string): AnchorPublicKey {
  return { raw, fingerprint: publicKeyFingerprint(raw), vkey: noteVerifierKey(raw, logId) };
}

/** Pending checkpoints kept per anchor while it fails; past this the oldest are dropped (the newest proves them). */
const MAX_PENDING = 256;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 60_000;

class AnchorQueue {
  readonly status: AnchorStatus;
  private queue: { cp: AnchoredCheckpoint; key: AnchorPublicKey }[] = [];
  private running = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private backoff = BACKOFF_MIN_MS;
  private closed = false;
  private idle: (() => void)[] = [];

  constructor(readonly anchor: CheckpointAnchor) {
    this.status = {
      name: anchor.name,
      published: 0,
      failures: 0,
      lastPublishedSize: null,
      pending: 0,
      lastError: null,
      lastErrorAt: null,
    };
  }

  push(cp: AnchoredCheckpoint, key: AnchorPublicKey): void {
    if (this.closed) return;
    this.queue.push({ cp, key });
    if (this.queue.length > MAX_PENDING) this.queue.splice(0, this.queue.length - MAX_PENDING);
    this.status.pending = this.queue.length;
    if (!this.timer) void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const next = this.queue[0]!;
        try {
          await this.anchor.publish(next.cp, next.key);
        } catch (err) {
          this.status.failures++;
          this.status.lastError = err instanceof Error ? err.message : String(err);
          this.status.lastErrorAt = Date.now();
          this.timer = setTimeout(() => {
            this.timer = null;
            void this.drain();
          }, this.backoff);
          this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
          return;
        }
        this.queue.shift();
        this.status.pending = this.queue.length;
        this.status.published++;
        this.status.lastPublishedSize = next.cp.size;
        this.status.lastError = null;
        this.backoff = BACKOFF_MIN_MS;
      }
    } finally {
      this.running = false;
      if (this.queue.length === 0 || this.closed) for (const f of this.idle.splice(0)) f();
    }
  }

  /** Waits (bounded) for what is queued to be published, then stops. */
  async close(waitMs: number): Promise<void> {
    if (this.queue.length > 0 && !this.timer) {
      await Promise.race([
        new Promise<void>((r) => this.idle.push(r)),
        new Promise((r) => setTimeout(r, waitMs)),
      ]);
    }
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.anchor.close?.();
  }
}

/** Fans each checkpoint out to every anchor, each with its own queue: a slow or failing anchor holds no other. */
export class AnchorPublisher {
  private queues: AnchorQueue[];

  constructor(anchors: CheckpointAnchor[]) {
    this.queues = anchors.map((a) => new AnchorQueue(a));
  }

  get size(): number {
    return this.queues.length;
  }

  /** Never throws, never waits: the recorder's commit path calls this. */
  publish(cp: CheckpointRow, publicKey: Uint8Array): void {
    if (this.queues.length === 0) return;
    const anchored = anchoredCheckpoint(cp, publicKey);
    const key = anchorPublicKey(publicKey, cp.logId);
    for (const q of this.queues) q.push(anchored, key);
  }

  statuses(): AnchorStatus[] {
    return this.queues.map((q) => ({ ...q.status }));
  }

  /** What /healthz reports: anchors whose last attempt failed. */
  problems(): string[] {
    return this.queues
      .filter((q) => q.status.lastError !== null)
      .map(
        (q) =>
          `audit anchor ${q.status.name} failing (${q.status.pending} checkpoint(s) waiting): ${q.status.lastError}`,
      );
  }

  async close(waitMs = 5_000): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close(waitMs)));
  }
}
