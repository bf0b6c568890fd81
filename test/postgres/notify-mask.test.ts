// NotificationResponse is a carrier like any other (ENFORCEMENT.md 5): for an agent, whose results are
// masked, the channel and payload of every notification go through the detectors, whoever sent it. Judged
// by the bytes the agent's socket received; a human listener still gets the payload as sent, and the PID in
// the notification is the sender's real backend PID, as the sender's driver was told.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import { cstrings, login, readInt32 } from "../support/raw-client.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let human: string;
let agent: string;

const SSN = "123-45-6789";
const CARD = "4111111111111111";
const EMAIL = "jane.doe@example.com";

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  gw = await startTestGateway({ pg: db, issuer });
  human = await gw.token("dba@bank.example", ["dba"]);
  agent = await gw.token("agent@bank.example", ["agents"]);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
}, 30_000);

describe("NotificationResponse for a masked session", () => {
  test("payloads with an SSN, a card number and an e-mail arrive masked for an agent, raw for a human", async () => {
    const listener = await login(gw.port, agent);
    const listen = await listener.client.simpleQuery("LISTEN accounts");
    const refused = listen.find((m) => m.type === "E");
    // Should the pack refuse LISTEN to agents, nothing can be delivered; the unit test covers the masker.
    if (refused) return void listener.client.close();
    const humanListener = await login(gw.port, human);
    await humanListener.client.simpleQuery("LISTEN accounts");

    const sender = await login(gw.port, human);
    const payloads = [`ssn ${SSN}`, `card ${CARD}`, `mail ${EMAIL}`, "nothing regulated here"];
    for (const p of payloads) await sender.client.simpleQuery(`NOTIFY accounts, '${p}'`);

    for (const c of [listener.client, humanListener.client]) {
      await c.until(() => c.messages.filter((m) => m.type === "A").length >= payloads.length, 5000, "A");
      await c.simpleQuery("select 1");
    }
    const received = new TextDecoder().decode(listener.client.received);
    for (const value of [SSN, CARD, EMAIL]) expect(received).not.toContain(value);
    const notes = listener.client.messages.filter((m) => m.type === "A");
    const texts = notes.map((m) => cstrings(m.body.subarray(4)));
    expect(texts[3]).toEqual(["accounts", "nothing regulated here"]);
    expect(texts[0]![1]).toContain("ssn ");
    expect(texts[0]![1]).not.toBe(`ssn ${SSN}`);
    // The sender's PID is its real backend PID, the one its own BackendKeyData carried.
    for (const m of notes) expect(readInt32(m.body, 0)).toBe(sender.pid);

    const humanTexts = humanListener.client.messages
      .filter((m) => m.type === "A")
      .map((m) => cstrings(m.body.subarray(4)));
    expect(humanTexts.map((t) => t[1])).toEqual(payloads);
    for (const c of [listener.client, humanListener.client, sender.client]) c.close();
  });
});
