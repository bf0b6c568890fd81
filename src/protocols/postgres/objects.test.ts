import { describe, expect, test } from "bun:test";
import type { Decision } from "../../core/decision.ts";
import { combine } from "./object-decisions.ts";
import { type PortalObject, SessionObjects, type StatementObject } from "./objects.ts";

const allow: Decision = { action: "allow", reason: "", rule: "a", record: "buffered", mask: [] };
const stmt = (text: string, decision = allow): StatementObject => ({
  command: { protocol: "postgres", text },
  decision,
  ops: null,
});
const portal = (s: StatementObject | null, holdable = false): PortalObject => ({
  statement: s,
  holdable,
  committed: false,
  binding: null,
});

describe("SessionObjects", () => {
  test("a change is seen in its own segment at once, and by the confirmed state only when the server confirms", () => {
    const o = new SessionObjects();
    const a = stmt("select 1");
    const e = o.change("statement", "s", a);
    expect(o.statement("s")).toEqual({ object: a });
    o.endSegment();
    // From a later segment, an unanswered change may still fail: wait.
    expect(o.statement("s")).toBe("wait");
    o.settle([e], () => true);
    expect(o.statement("s")).toEqual({ object: a });
  });

  test("a failed change leaves the old object; a failed unnamed Parse drops the unnamed statement", () => {
    const o = new SessionObjects();
    const old = stmt("old");
    o.settle([o.change("statement", "s", old)], () => true);
    o.settle([o.change("statement", "s", stmt("new"))], () => false);
    expect(o.statement("s")).toEqual({ object: old });
    o.settle([o.change("statement", "", stmt("u"))], () => true);
    o.settle([o.change("statement", "", stmt("v"), { dropOnFailure: true })], () => false);
    expect(o.statement("")).toEqual({ object: null });
  });

  test("waiting resolves once every earlier segment's change is answered", async () => {
    const o = new SessionObjects();
    const e = o.change("portal", "p", portal(null));
    o.endSegment();
    let done = false;
    const w = o.settled().then(() => {
      done = true;
    });
    await Bun.sleep(1);
    expect(done).toBe(false);
    o.settle([e], () => true);
    await w;
    expect(done).toBe(true);
  });

  test("ReadyForQuery 'I' drops portals but committed holdable cursors; a rollback drops new holdable ones", () => {
    const o = new SessionObjects();
    o.settle(
      [o.change("portal", "p", portal(null)), o.change("portal", "h", portal(null, true))],
      () => true,
    );
    o.ready("T");
    expect(o.portal("p")).not.toEqual({ object: null });
    o.ready("I");
    expect(o.portal("p")).toEqual({ object: null });
    expect(o.portal("h")).not.toEqual({ object: null });
    o.settle([o.change("portal", "r", portal(null, true))], () => true);
    o.sawRollback();
    o.ready("I");
    expect(o.portal("r")).toEqual({ object: null });
    expect(o.portal("h")).not.toEqual({ object: null });
  });

  test("DEALLOCATE ALL / CLOSE ALL clear their namespace only", () => {
    const o = new SessionObjects();
    o.settle(
      [o.change("statement", "s", stmt("x")), o.change("portal", "c", portal(null, true))],
      () => true,
    );
    o.settle([o.change("statement", null, null)], () => true);
    expect(o.statement("s")).toEqual({ object: null });
    expect(o.portal("c")).not.toEqual({ object: null });
  });
});

describe("combine", () => {
  const deny: Decision = { action: "deny", reason: "no", rule: "d", record: "sync", mask: [] };
  const review: Decision = {
    ...allow,
    action: "review",
    rule: "r",
    mask: [{ column: "ssn", method: "partial" }],
  };
  const masked: Decision = { ...allow, mask: [{ detector: "ssn", method: "redact" }] };
  test("a denial wins, then a review; masks add up; memoized", () => {
    expect(combine(allow, deny).action).toBe("deny");
    expect(combine(deny, review).rule).toBe("d");
    expect(combine(masked, review)).toMatchObject({ action: "review", record: "buffered" });
    expect(combine(masked, review).mask).toHaveLength(2);
    expect(combine(masked, masked)).toBe(masked);
    expect(combine(masked, review)).toBe(combine(masked, review));
    expect(combine(allow, deny).record).toBe("sync");
  });
});
