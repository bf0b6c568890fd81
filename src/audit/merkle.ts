// RFC 6962 §2.1 Merkle tree hash: leaves, roots, an O(log n) appender, inclusion and consistency proofs.

const LEAF = new Uint8Array([0x00]);
const NODE = new Uint8Array([0x01]);

function sha(...parts: Uint8Array[]): Uint8Array {
  const h = new Bun.CryptoHasher("sha256");
  for (const p of parts) h.update(p);
  return h.digest() as Uint8Array;
}

/** MTH({}) = SHA-256() */
export const EMPTY_ROOT: Uint8Array = sha();

/** MTH({d}) = SHA-256(0x00 || d) */
export function leafHash(entry: Uint8Array): Uint8Array {
  return sha(LEAF, entry);
}

/** SHA-256(0x01 || left || right) */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha(NODE, left, right);
}

/** Largest power of two strictly less than n (n >= 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** A source of subtree hashes MTH(D[start:end]); the proofs below need nothing else. */
export type SubtreeHash = (start: number, end: number) => Uint8Array;

/** Subtree hashes computed from leaf hashes held in memory. */
export function fromLeaves(leaves: readonly Uint8Array[], offset = 0): SubtreeHash {
  const mth = (start: number, end: number): Uint8Array => {
    const n = end - start;
    if (n === 0) return EMPTY_ROOT;
    if (n === 1) {
      const leaf = leaves[start - offset];
      if (!leaf) throw new RangeError(`leaf ${start} not available`);
      return leaf;
    }
    const k = splitPoint(n);
    return nodeHash(mth(start, start + k), mth(start + k, end));
  };
  return mth;
}

export function rootOf(leaves: readonly Uint8Array[]): Uint8Array {
  return fromLeaves(leaves)(0, leaves.length);
}

/**
 * Appends leaves keeping only the perfect subtrees that cover [0, size): one per set bit of size, so
 * an append is O(log n) and the root costs O(log n) hashes.
 */
export class MerkleFrontier {
  /** Perfect subtree roots, largest (leftmost) first. */
  private nodes: Uint8Array[];
  private count: number;

  constructor(size = 0, nodes: Uint8Array[] = []) {
    this.count = size;
    this.nodes = nodes;
  }

  get size(): number {
    return this.count;
  }

  append(leaf: Uint8Array): void {
    this.nodes.push(leaf);
    // Each trailing 1-bit of the old size is a completed pair to merge.
    for (let n = this.count; n & 1; n >>>= 1) {
      const right = this.nodes.pop()!;
      const left = this.nodes.pop()!;
      this.nodes.push(nodeHash(left, right));
    }
    this.count++;
  }

  root(): Uint8Array {
    if (this.nodes.length === 0) return EMPTY_ROOT;
    let acc = this.nodes[this.nodes.length - 1]!;
    for (let i = this.nodes.length - 2; i >= 0; i--) acc = nodeHash(this.nodes[i]!, acc);
    return acc;
  }

  /** The perfect subtrees as [start, end, hash], left to right. */
  ranges(): [number, number, Uint8Array][] {
    const out: [number, number, Uint8Array][] = [];
    let start = 0;
    let bit = 1;
    while (bit * 2 <= this.count) bit *= 2;
    let i = 0;
    for (; bit >= 1; bit /= 2) {
      if (this.count & bit) {
        out.push([start, start + bit, this.nodes[i++]!]);
        start += bit;
      }
    }
    return out;
  }

  clone(): MerkleFrontier {
    return new MerkleFrontier(this.count, this.nodes.slice());
  }
}

/** PATH(m, D[n]) of RFC 6962 §2.1.1. */
export function inclusionProof(m: number, n: number, mth: SubtreeHash): Uint8Array[] {
  if (m < 0 || m >= n) throw new RangeError(`leaf ${m} outside tree of size ${n}`);
  const path = (m: number, start: number, end: number): Uint8Array[] => {
    const size = end - start;
    if (size === 1) return [];
    const k = splitPoint(size);
    if (m < k) return [...path(m, start, start + k), mth(start + k, end)];
    return [...path(m - k, start + k, end), mth(start, start + k)];
  };
  return path(m, 0, n);
}

/** PROOF(m, D[n]) of RFC 6962 §2.1.2. */
export function consistencyProof(m: number, n: number, mth: SubtreeHash): Uint8Array[] {
  if (m < 0 || m > n) throw new RangeError(`size ${m} does not precede ${n}`);
  if (m === 0 || m === n) return [];
  const sub = (m: number, start: number, end: number, whole: boolean): Uint8Array[] => {
    const size = end - start;
    if (m === size) return whole ? [] : [mth(start, end)];
    const k = splitPoint(size);
    if (m <= k) return [...sub(m, start, start + k, whole), mth(start + k, end)];
    return [...sub(m - k, start + k, end, false), mth(start, start + k)];
  };
  return sub(m, 0, n, true);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Verifies an inclusion proof (RFC 9162 §2.1.3.2, the same tree as RFC 6962). */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      r = nodeHash(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn !== 0) {
          fn >>>= 1;
          sn >>>= 1;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>>= 1;
    sn >>>= 1;
  }
  return sn === 0 && equal(r, root);
}

/** Verifies a consistency proof (RFC 9162 §2.1.4.2). */
export function verifyConsistency(
  m: number,
  n: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (m < 0 || m > n) return false;
  if (m === n) return proof.length === 0 && equal(oldRoot, newRoot);
  if (m === 0) return proof.length === 0;
  const path = [...proof];
  // When m is a power of two the old root is itself the first node of the proof.
  if ((m & (m - 1)) === 0) path.unshift(oldRoot);
  let fn = m - 1;
  let sn = n - 1;
  while (fn & 1) {
    fn >>>= 1;
    sn >>>= 1;
  }
  const first = path[0];
  if (!first) return false;
  let fr = first;
  let sr = first;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn !== 0) {
          fn >>>= 1;
          sn >>>= 1;
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>>= 1;
    sn >>>= 1;
  }
  return sn === 0 && equal(fr, oldRoot) && equal(sr, newRoot);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return equal(a, b);
}
