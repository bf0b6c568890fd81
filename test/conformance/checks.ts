// What every protocol must do alike, tested alike (STYLE.md): one suite, run against each protocol with its
// own real target and real client. A protocol supplies a ProtocolUnderTest — how to present a bad token, run
// an allowed and a denied command as an agent, and send garbage — and `conformance()` checks the effects:
// refusals in the protocol's own terms, the audit events of a session (F1, F4, F13), the target's secrets
// and the caller's token never in any byte the client got or the store holds, the log verifying, and the
// gateway serving others after bad input. Judged from the client's bytes and the audit store, never from
// the gateway's log lines.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openStore, type StoredEvent } from "../../src/audit/store.ts";
import { verifyLog } from "../../src/audit/verify.ts";
import type { RunningGateway } from "../../src/gateway.ts";
import { allEvents } from "../support/audit-read.ts";
import { dataDirBytes } from "../support/data-dir-files.ts";

/** What a client saw of one attempt: every byte it received (rendered as text), and how it ended. */
export interface ClientResult {
  /** True when the client got the protocol's own refusal (an ErrorResponse, a 403 problem, an SSH disconnect…). */
  refused: boolean;
  /** Everything the client received, as text (stdout and stderr for a CLI client). */
  bytes: string;
}

export interface ProtocolUnderTest {
  /** The `protocol` its sessions and events carry. */
  protocol: string;
  /** Connection name used by the attempts. */
  connection: string;
  gateway: RunningGateway;
  /** The gateway's data_dir (its embedded audit store). */
  dataDir: string;
  /** The agent's identity token, its subject, and the target account the gateway logs in as. */
  agentToken: string;
  agentSubject: string;
  targetUser: string;
  /**
   * True when a session ends as its client goes (PostgreSQL, SSH); false when the gateway ends it after a
   * quiet spell (HTTP keep-alive sessions).
   */
  endsWithClient: boolean;
  /** Secrets the gateway holds for the target: never in a client's bytes, a recording or an event. */
  targetSecrets: string[];
  /** A session presented with an invalid identity token. */
  badToken(): Promise<ClientResult>;
  /** A command the default pack allows for agents; `marker` is a value the target's answer contains. */
  allowed(): Promise<ClientResult & { marker: string }>;
  /** A command the default pack denies for agents; `canary()` tells whether it took effect on the target. */
  denied(): Promise<ClientResult>;
  /** True when the denied command's effect is visible on the target (read directly, not through Custos). */
  deniedTookEffect(): Promise<boolean>;
  /** Bytes that are not the protocol, on a fresh connection; resolves when the gateway has closed it. */
  garbage(): Promise<ClientResult>;
}

async function events(gw: RunningGateway, dataDir: string): Promise<StoredEvent[]> {
  await gw.recorder.durable();
  const store = await openStore(`sqlite:${dataDir}/audit.db`);
  try {
    return await allEvents(store);
  } finally {
    await store.close();
  }
}

// Out of this process: reading the live SQLite files here would drop the gateway's locks on them.
const storeBytes = (dir: string): Buffer => dataDirBytes(dir);

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`conformance: ${what} not seen within ${ms} ms`);
    await Bun.sleep(50);
  }
}

/** Registers the conformance suite for one protocol; `setup` starts its real target and a gateway. */
export function conformance(
  name: string,
  setup: () => Promise<ProtocolUnderTest>,
  teardown: () => Promise<void>,
): void {
  describe(`conformance: ${name}`, () => {
    let p: ProtocolUnderTest;
    beforeAll(async () => {
      p = await setup();
    }, 180_000);
    afterAll(teardown, 60_000);

    const sessionsOf = async (subject: string) =>
      (await events(p.gateway, p.dataDir)).filter(
        (e) => e.type === "session.start" && e.data.subject === subject && e.data.protocol === p.protocol,
      );

    test("a bad identity token is refused in the protocol's own terms and recorded as auth.failure", async () => {
      const r = await p.badToken();
      expect(r.refused).toBe(true);
      for (const s of p.targetSecrets) expect(r.bytes).not.toContain(s);
      const failure = await waitFor(
        async () =>
          (await events(p.gateway, p.dataDir)).find(
            (e) => e.type === "auth.failure" && e.data.protocol === p.protocol,
          ),
        "auth.failure",
      );
      expect(typeof failure.data.code).toBe("string");
    });

    test("an allowed command returns the target's answer; its session is recorded start to end", async () => {
      const before = (await sessionsOf(p.agentSubject)).length;
      const r = await p.allowed();
      expect(r.refused).toBe(false);
      expect(r.bytes).toContain(r.marker);
      for (const s of p.targetSecrets) expect(r.bytes).not.toContain(s);
      const starts = await waitFor(async () => {
        const s = await sessionsOf(p.agentSubject);
        return s.length > before ? s : undefined;
      }, "session.start");
      const start = starts[starts.length - 1]!;
      expect(start.data.connection).toBe(p.connection);
      expect(start.data.target_user).toBe(p.targetUser);
      const sid = start.sessionId;
      if (p.endsWithClient) {
        const end = await waitFor(
          async () =>
            (await events(p.gateway, p.dataDir)).find((e) => e.type === "session.end" && e.sessionId === sid),
          "session.end",
        );
        expect(typeof end.data.reason).toBe("string");
      }
      const commands = await waitFor(async () => {
        const found = (await events(p.gateway, p.dataDir)).filter(
          (e) => e.type === "statement" && e.sessionId === sid,
        );
        return found.length > 0 ? found : undefined;
      }, "the session's command events");
      expect(commands.some((e) => e.data.action === "allow")).toBe(true);
    });

    test("a denied command is refused, has no effect on the target, and its denial names the rule", async () => {
      const r = await p.denied();
      expect(r.refused).toBe(true);
      expect(await p.deniedTookEffect()).toBe(false);
      const denial = await waitFor(
        async () =>
          (await events(p.gateway, p.dataDir)).find(
            (e) =>
              e.type === "statement" &&
              e.data.action === "deny" &&
              typeof e.data.rule === "string" &&
              e.data.rule.length > 0,
          ),
        "a statement event with action deny",
      );
      expect(denial.data.reason).toBeDefined();
    });

    test("bad input is refused and the gateway keeps serving other sessions", async () => {
      const g = await p.garbage();
      for (const s of p.targetSecrets) expect(g.bytes).not.toContain(s);
      const after = await p.allowed();
      expect(after.refused).toBe(false);
      expect(after.bytes).toContain(after.marker);
    });

    test("neither the caller's token nor the target's secrets are in the audit store; the log verifies", async () => {
      await p.gateway.recorder.durable();
      const bytes = storeBytes(p.dataDir);
      expect(bytes.includes(p.agentToken)).toBe(false);
      for (const s of p.targetSecrets) expect(bytes.includes(s)).toBe(false);
      const store = await openStore(`sqlite:${p.dataDir}/audit.db`);
      try {
        const report = await verifyLog(store);
        expect(report.logs.length).toBeGreaterThan(0);
        expect(report.ok).toBe(true);
      } finally {
        await store.close();
      }
    });
  });
}
