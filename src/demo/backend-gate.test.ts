import { describe, expect, test } from "bun:test";
import { BackendGate } from "./backend-gate.ts";

describe("BackendGate", () => {
  test("grants in arrival order, re-entrant for the holder", async () => {
    const gate = new BackendGate();
    const order: number[] = [];
    await gate.acquire(1);
    await gate.acquire(1);
    const second = gate.acquire(2).then(() => order.push(2));
    const third = gate.acquire(3).then(() => order.push(3));
    expect(gate.waiting).toBe(2);
    await Bun.sleep(1);
    expect(order).toEqual([]);
    gate.release(2); // not the holder: no effect
    expect(gate.holder).toBe(1);
    gate.release(1);
    await second;
    expect(gate.holder).toBe(2);
    gate.release(2);
    await third;
    expect(order).toEqual([2, 3]);
    gate.release(3);
    expect(gate.holder).toBeUndefined();
  });

  test("an abandoned waiter is skipped", async () => {
    const gate = new BackendGate();
    await gate.acquire(1);
    void gate.acquire(2);
    const third = gate.acquire(3);
    gate.abandon(2);
    gate.release(1);
    await third;
    expect(gate.holder).toBe(3);
  });
});
