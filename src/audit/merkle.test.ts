import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  consistencyProof,
  EMPTY_ROOT,
  fromLeaves,
  inclusionProof,
  leafHash,
  MerkleFrontier,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from "./merkle.ts";

// An independent, deliberately naive RFC 6962 MTH over the raw entries (node:crypto, not Bun's hasher).
function naiveRoot(entries: Uint8Array[]): Buffer {
  const h = (...parts: Uint8Array[]) => {
    const c = createHash("sha256");
    for (const p of parts) c.update(p);
    return c.digest();
  };
  if (entries.length === 0) return h();
  if (entries.length === 1) return h(Buffer.from([0]), entries[0]!);
  let k = 1;
  while (k * 2 < entries.length) k *= 2;
  return h(Buffer.from([1]), naiveRoot(entries.slice(0, k)), naiveRoot(entries.slice(k)));
}

const entries = Array.from({ length: 70 }, (_, i) => new TextEncoder().encode(`entry-${i}`));
const leaves = entries.map(leafHash);
const hexOf = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("merkle", () => {
  test("empty tree is SHA-256 of the empty string", () => {
    expect(hexOf(EMPTY_ROOT)).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(hexOf(new MerkleFrontier().root())).toBe(hexOf(EMPTY_ROOT));
  });

  test("known vector: the single empty leaf is SHA-256(0x00)", () => {
    expect(hexOf(leafHash(new Uint8Array()))).toBe(
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    );
  });

  test("frontier root and recursive root agree with the naive tree for sizes 0..70", () => {
    const f = new MerkleFrontier();
    for (let n = 0; n <= entries.length; n++) {
      const expected = hexOf(naiveRoot(entries.slice(0, n)));
      expect(hexOf(rootOf(leaves.slice(0, n)))).toBe(expected);
      expect(hexOf(f.root())).toBe(expected);
      expect(f.size).toBe(n);
      if (n < entries.length) f.append(leaves[n]!);
    }
  });

  test("frontier keeps one node per set bit and its ranges cover the tree", () => {
    const f = new MerkleFrontier();
    for (let i = 0; i < 45; i++) f.append(leaves[i]!);
    const ranges = f.ranges();
    expect(ranges.map(([s, e]) => [s, e])).toEqual([
      [0, 32],
      [32, 40],
      [40, 44],
      [44, 45],
    ]);
    const mth = fromLeaves(leaves);
    for (const [s, e, h] of ranges) expect(hexOf(h)).toBe(hexOf(mth(s, e)));
  });

  test("clone is independent", () => {
    const f = new MerkleFrontier();
    f.append(leaves[0]!);
    const g = f.clone();
    g.append(leaves[1]!);
    expect(f.size).toBe(1);
    expect(hexOf(f.root())).toBe(hexOf(rootOf(leaves.slice(0, 1))));
  });

  test("inclusion proofs verify for every leaf of many sizes, and fail when tampered", () => {
    for (const n of [1, 2, 3, 5, 7, 8, 9, 16, 31, 33, 70]) {
      const mth = fromLeaves(leaves.slice(0, n));
      const root = mth(0, n);
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(m, n, mth);
        expect(verifyInclusion(m, n, leaves[m]!, proof, root)).toBe(true);
        expect(verifyInclusion(m, n, leafHash(new Uint8Array([9])), proof, root)).toBe(false);
        if (n > 1) expect(verifyInclusion((m + 1) % n, n, leaves[m]!, proof, root)).toBe(false);
      }
    }
  });

  test("consistency proofs verify for every pair m <= n <= 40, and fail against a wrong root", () => {
    const mth = fromLeaves(leaves);
    for (let n = 1; n <= 40; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(m, n, mth);
        expect(verifyConsistency(m, n, mth(0, m), mth(0, n), proof)).toBe(true);
        if (m < n) {
          expect(verifyConsistency(m, n, mth(0, m), mth(0, n - 1), proof)).toBe(false);
          expect(verifyConsistency(m, n, mth(1, m + 1), mth(0, n), proof)).toBe(false);
        }
      }
    }
  });

  test("RFC 6962 §2.1.3 example: PROOF(3, D[7]) is [c, d, g, l]", () => {
    const mth = fromLeaves(leaves);
    const proof = consistencyProof(3, 7, mth).map(hexOf);
    expect(proof).toEqual([mth(2, 3), mth(3, 4), mth(0, 2), mth(4, 7)].map(hexOf));
    expect(consistencyProof(4, 7, mth).map(hexOf)).toEqual([mth(4, 7)].map(hexOf));
  });
});
