import { describe, expect, test } from "bun:test";
import { BackendTracker } from "./backend-tracker.ts";

// CommandComplete "SELECT 1" then ReadyForQuery with the given status, as PGlite emits them.
function response(status: "I" | "T" | "E"): Uint8Array {
  const tag = new TextEncoder().encode("SELECT 1\0");
  const out = new Uint8Array(5 + tag.length + 6);
  out[0] = 0x43;
  new DataView(out.buffer).setInt32(1, 4 + tag.length);
  out.set(tag, 5);
  out.set([0x5a, 0, 0, 0, 5, status.charCodeAt(0)], 5 + tag.length);
  return out;
}

describe("BackendTracker", () => {
  test("idle only after ReadyForQuery 'I'", () => {
    const t = new BackendTracker();
    t.feed(response("I"));
    expect(t.idle).toBe(true);
    t.reset();
    t.feed(response("T"));
    expect(t.idle).toBe(false);
    t.reset();
    t.feed(response("E"));
    expect(t.idle).toBe(false);
  });

  test("follows messages split at every possible byte", () => {
    const bytes = response("I");
    for (let cut = 1; cut < bytes.length; cut++) {
      const t = new BackendTracker();
      t.feed(bytes.subarray(0, cut));
      if (cut < bytes.length) expect(t.idle).toBe(false);
      t.feed(bytes.subarray(cut));
      expect(t.idle).toBe(true);
    }
  });

  test("an empty response after reset is not idle (a Parse without Sync answers nothing)", () => {
    const t = new BackendTracker();
    t.feed(response("I"));
    t.reset();
    expect(t.idle).toBe(false);
  });

  test("ReadyForQuery followed by more output is not idle", () => {
    const t = new BackendTracker();
    t.feed(response("I"));
    t.feed(Uint8Array.of(0x31, 0, 0, 0, 4)); // '1' ParseComplete
    expect(t.idle).toBe(false);
  });
});
