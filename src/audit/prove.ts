// Inclusion proofs (RFC 6962 §2.1.1): that event SEQ is in the tree a signed checkpoint commits to. Built
// from the stored leaf hashes and checked before it is handed out (verifyInclusion, RFC 9162 §2.1.3.2).
import { verifyCheckpoint } from "./checkpoint.ts";
import { fromLeaves, inclusionProof, leafHash, verifyInclusion } from "./merkle.ts";
import type { AuditStore, CheckpointRow, EventRow } from "./store.ts";

export interface InclusionProof {
  logId: string;
  seq: number;
  leafHash: Uint8Array;
  checkpoint: CheckpointRow;
  path: Uint8Array[];
  /** The body hashes to the leaf (false when retention pruned it: the leaf hash alone is proven). */
  bodyMatches: boolean;
  pruned: boolean;
  event: EventRow;
}

export class ProofError extends Error {}

/** The proof of `seq` against the first checkpoint covering it (or `atSize`'s), verified. */
export async function proveInclusion(
  store: AuditStore,
  logId: string,
  seq: number,
  publicKey: Uint8Array,
  atSize?: number,
): Promise<InclusionProof> {
  const [event] = await store.readEvents(logId, seq, 1);
  if (!event || event.seq !== seq) throw new ProofError(`log ${logId} has no event ${seq}`);
  const cps = await store.checkpoints(logId);
  const cp = atSize === undefined ? cps.find((c) => c.size > seq) : cps.find((c) => c.size === atSize);
  if (!cp) {
    throw new ProofError(
      atSize === undefined
        ? `event ${seq} is not yet covered by a signed checkpoint (newest covers ${cps.at(-1)?.size ?? 0} events)`
        : `log ${logId} has no checkpoint at size ${atSize}`,
    );
  }
  if (cp.size <= seq) throw new ProofError(`the checkpoint at size ${cp.size} does not cover event ${seq}`);
  if (!(await verifyCheckpoint(publicKey, cp))) {
    throw new ProofError(`the checkpoint at size ${cp.size} is not signed by the given key`);
  }
  const leaves: Uint8Array[] = [];
  for (let page = await store.readLeaves(logId, 0, 50_000); page.length; ) {
    for (const l of page) {
      if (leaves.length >= cp.size) break;
      if (l.seq !== leaves.length) throw new ProofError(`seq ${leaves.length} is missing from the log`);
      leaves.push(l.leafHash);
    }
    if (leaves.length >= cp.size) break;
    page = await store.readLeaves(logId, leaves.length, 50_000);
  }
  if (leaves.length < cp.size)
    throw new ProofError(`the log ends at ${leaves.length}, before the checkpoint's ${cp.size}`);
  const path = inclusionProof(seq, cp.size, fromLeaves(leaves));
  if (!verifyInclusion(seq, cp.size, event.leafHash, path, cp.rootHash)) {
    throw new ProofError(`event ${seq} is not in the tree the checkpoint at size ${cp.size} signed`);
  }
  const pruned = event.prunedAt != null;
  const bodyMatches = !pruned && Buffer.from(leafHash(event.body)).equals(Buffer.from(event.leafHash));
  if (!pruned && !bodyMatches) throw new ProofError(`event ${seq}'s body does not hash to its leaf`);
  return { logId, seq, leafHash: event.leafHash, checkpoint: cp, path, bodyMatches, pruned, event };
}
