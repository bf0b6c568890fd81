// A bounded map that forgets entries not used for a while: the classifier's and the decider's caches.
// Two generations instead of exact LRU order: entries are added to the young map; when it holds half the
// capacity it becomes the old map and the previous old map is dropped. A hit in the young map is one
// lookup (exact LRU re-inserts on every hit, two more hash operations on the per-statement hot path); a
// hit in the old map moves the entry to the young one. An entry survives as long as it is used at least
// once per generation, and at most `capacity` entries are held.

export class Lru<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly generation: number;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("Lru capacity must be >= 1");
    this.generation = Math.max(1, Math.floor(capacity / 2));
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const aged = this.old.get(key);
    if (aged === undefined) return undefined;
    this.old.delete(key);
    this.insert(key, aged);
    return aged;
  }

  set(key: K, value: V): void {
    if (this.young.has(key)) {
      this.young.set(key, value);
      return;
    }
    this.old.delete(key);
    this.insert(key, value);
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }

  private insert(key: K, value: V): void {
    if (this.young.size >= this.generation) {
      // A capacity of one has room for no old generation.
      this.old = this.capacity > 1 ? this.young : new Map();
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}
