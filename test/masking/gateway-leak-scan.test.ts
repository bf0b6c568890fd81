// An agent reads everything it can through the gateway (raw wire client in text and binary format,
// prepared statements executed without a Describe, postgres.js and psql behind a capturing proxy, COPY),
// then every byte sent to the client, every recording and every file of the data dir is scanned for the
// fixture's raw SSNs and card numbers. The `masking` audit events list columns, detectors and counts only.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { fixtureRows } from "../../src/demo/fixture.ts";
import { auditReader } from "../policy-e2e/support.ts";
import { psql } from "../support/gateway.ts";
import { login, type RawClient, type RawMessage, typed } from "../support/raw-client.ts";
import {
  captureProxy,
  dataDirFiles,
  leakedSecrets,
  type MaskingWorld,
  recordingsText,
  startMaskingWorld,
} from "./gateway-support.ts";

let world: MaskingWorld;
beforeAll(async () => {
  world = await startMaskingWorld();
}, 60_000);
afterAll(async () => {
  await world?.stop();
});

const enc = new TextEncoder();
const dec = new TextDecoder();
const cstr = (s: string) => [...enc.encode(s), 0];
const i16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const i32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const parse = (name: string, sql: string) =>
  typed("P", Uint8Array.from([...cstr(name), ...cstr(sql), ...i16(0)]));
/** Bind with no parameters and one result format code for every column (1 = binary). */
const bind = (statement: string, format: number) =>
  typed(
    "B",
    Uint8Array.from([...cstr(""), ...cstr(statement), ...i16(0), ...i16(0), ...i16(1), ...i16(format)]),
  );
const execute = () => typed("E", Uint8Array.from([...cstr(""), ...i32(0)]));
const sync = () => typed("S");

/** DataRow values (null for SQL NULL) of messages[from...]. */
function dataRows(messages: RawMessage[], from = 0): (Uint8Array | null)[][] {
  return messages.slice(from).flatMap((m) => {
    if (m.type !== "D") return [];
    const dv = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
    const row: (Uint8Array | null)[] = [];
    let pos = 2;
    for (let i = 0; i < dv.getInt16(0); i++) {
      const len = dv.getInt32(pos);
      pos += 4;
      row.push(len < 0 ? null : m.body.subarray(pos, pos + len));
      pos += Math.max(len, 0);
    }
    return [row];
  });
}

async function extended(
  client: RawClient,
  statement: string,
  format: number,
): Promise<(Uint8Array | null)[][]> {
  const from = client.messages.length;
  client.send(Buffer.concat([bind(statement, format), execute(), sync()]));
  await client.waitFor("Z", 10_000, from);
  expect(client.errors().slice(-1)[0]?.C ?? "").not.toBe("42501");
  return dataRows(client.messages, from);
}

const TABLES = ["customers", "accounts", "cards", "transactions", "orders", "customer_summary"];

describe("an agent reading everything leaks no raw SSN or card number anywhere", () => {
  let client: RawClient;
  const proxied: Buffer[] = [];

  test("raw wire client: simple queries, COPY, binary results, prepared statements run without Describe", async () => {
    ({ client } = await login(world.gw.port, await world.gw.token("agent-raw@bank.example", ["agents"]), {
      params: { application_name: "leak-raw" },
    }));
    for (const t of TABLES) {
      await client.simpleQuery(`select * from ${t}`);
      if (t !== "customer_summary") await client.simpleQuery(`copy ${t} to stdout`);
    }
    await client.simpleQuery("copy (select * from customer_summary) to stdout with (format csv, header)");

    let mark = 0;
    // Binary result format, a statement executed twice, never described by the client.
    mark = client.messages.length;
    client.send(
      Buffer.concat([
        parse("every", "select id, ssn, email, date_of_birth, full_name from customers order by id"),
        sync(),
      ]),
    );
    await client.waitFor("Z", 10_000, mark);
    const c0 = fixtureRows().customers[0]!;
    for (const format of [1, 0]) {
      for (let run = 0; run < 2; run++) {
        const rows = await extended(client, "every", format);
        expect(rows).toHaveLength(fixtureRows().customers.length);
        const first = rows[0]!;
        expect(dec.decode(first[1]!)).toBe(`***-**-${c0.ssn.slice(-4)}`);
        expect(dec.decode(first[4]!)).toBe(c0.fullName);
        expect(first[3]).toBeNull(); // date_of_birth: a date cannot hold "[REDACTED]", so it is NULL
        if (format === 1) expect(first[0]).toEqual(Uint8Array.of(0, 0, 0, c0.id)); // int4 in binary, untouched
      }
    }
    // Binary cards and free text through the extended protocol.
    mark = client.messages.length;
    client.send(
      Buffer.concat([
        parse(
          "cards",
          "select card_number, memo from cards, transactions where transactions.account_id = cards.account_id",
        ),
        sync(),
      ]),
    );
    await client.waitFor("Z", 10_000, mark);
    const cards = await extended(client, "cards", 1);
    expect(cards.length).toBeGreaterThan(100);
    expect(leakedSecrets(client.received)).toEqual([]);
  });

  test("postgres.js (prepared statements, its own Describe) and psql behind a capturing proxy", async () => {
    const proxy = await captureProxy(world.gw.port);
    const url = await world.agentUrl("agent-js@bank.example", "leak-js", proxy.port);
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const c0 = fixtureRows().customers[0]!;
    for (let i = 0; i < 3; i++) {
      const [row] = await sql`select ssn, email, card_number from customers c
        join accounts a on a.customer_id = c.id join cards k on k.account_id = a.id where c.id = ${c0.id}`;
      expect(row!.ssn).toBe(`***-**-${c0.ssn.slice(-4)}`);
    }
    for (const t of TABLES) await sql.unsafe(`select * from ${t}`);
    const copied = await sql`copy customers to stdout`.readable();
    let copyBytes = 0;
    for await (const chunk of copied) copyBytes += (chunk as Uint8Array).length;
    expect(copyBytes).toBeGreaterThan(1000);
    await sql.end();
    const viaPsql = await psql(await world.agentUrl("agent-psql@bank.example", "leak-psql", proxy.port), [
      "-c",
      "\\copy (select * from cards) to stdout csv",
    ]);
    expect(viaPsql.code).toBe(0);
    proxy.stop();
    proxied.push(proxy.bytes());
    expect(proxy.bytes().length).toBeGreaterThan(20_000);
    expect(leakedSecrets(proxy.bytes())).toEqual([]);
  });

  test("recordings and every file of the data dir hold no raw value; a human's session is the control", async () => {
    // Control: a human reads the same data unmasked, so the scans below can see secrets when they are there.
    const human = await psql(await world.humanUrl("analyst@bank.example", "leak-human"), [
      "-c",
      "select ssn from customers",
    ]);
    expect(leakedSecrets(human.stdout).length).toBe(fixtureRows().customers.length);
    const recordings = await recordingsText(world.gw);
    expect(leakedSecrets(recordings).length).toBeGreaterThan(0); // the human's own session

    const agentOnly = await recordingsOf(["leak-raw", "leak-js", "leak-psql"]);
    expect(agentOnly.length).toBeGreaterThan(100_000);
    expect(leakedSecrets(agentOnly)).toEqual([]);
    client.close();
  });

  test("masking audit events list columns, detectors and counts, never values", async () => {
    const audit = await auditReader(world.gw);
    try {
      const events = (await audit.events("leak-raw")).filter((e) => e.type === "masking");
      expect(events.length).toBeGreaterThan(10);
      const text = JSON.stringify(events);
      expect(leakedSecrets(text)).toEqual([]);
      const customers = events.find((e) => (e.data as { text: string }).text === "select * from customers")!;
      const results = (
        customers.data as {
          results: {
            rows: number;
            columns: { column: string; source: string; values: number }[];
            detectors: { detector: string; values: number }[];
          }[];
        }
      ).results;
      expect(results).toHaveLength(1);
      expect(results[0]!.rows).toBe(fixtureRows().customers.length);
      expect(results[0]!.columns).toContainEqual(
        expect.objectContaining({
          column: "ssn",
          source: "public.customers.ssn",
          method: "partial",
          values: fixtureRows().customers.length,
        }),
      );
      const memo = events.find((e) => (e.data as { text: string }).text === "copy transactions to stdout")!;
      const detectors = (memo.data as { results: { detectors: { detector: string; values: number }[] }[] })
        .results[0]!.detectors;
      expect(detectors.find((d) => d.detector === "ssn")!.values).toBeGreaterThan(0);
      expect(detectors.find((d) => d.detector === "card")!.values).toBeGreaterThan(0);
    } finally {
      await audit.close();
    }
  });
});

/** The decoded recordings of the sessions opened with these application names. */
async function recordingsOf(applications: string[]): Promise<string> {
  const { withStore } = await import("../support/audit-read.ts");
  const { expandRecording } = await import("../../src/protocols/postgres/recording.ts");
  await world.gw.gw.recorder.durable();
  const frames = await withStore(world.gw, async (store) => {
    const all = [];
    for (const s of await store.listSessions({ limit: 1000 })) {
      if (applications.includes(s.application ?? "")) all.push(...(await store.sessionFrames(s.id)));
    }
    return all;
  });
  return JSON.stringify(expandRecording(frames), function (k, v) {
    const raw = (this as Record<string, unknown>)[k];
    return raw instanceof Uint8Array ? Buffer.from(raw).toString("latin1") : v;
  });
}

test("the data dir holds no raw value once the human's session is excluded: only agent reads ran in a fresh gateway", async () => {
  // The store above holds the human control session; a second world with agents only is scanned whole.
  const only = await startMaskingWorld();
  try {
    const url = await only.agentUrl("agent-only@bank.example", "only");
    for (const t of TABLES) {
      const r = await psql(url, ["-c", `select * from ${t}`]);
      expect(r.code).toBe(0);
    }
    expect((await psql(url, ["-c", "copy transactions to stdout"])).code).toBe(0);
    await only.gw.gw.recorder.durable();
    const files = dataDirFiles(only.gw.dataDir);
    expect(files.reduce((n, [, b]) => n + b.length, 0)).toBeGreaterThan(10_000);
    expect(files.filter(([, bytes]) => leakedSecrets(bytes).length > 0).map(([name]) => name)).toEqual([]);
    // Control: the scan reads the store's bytes (the agent's own query text is recorded).
    expect(files.some(([, bytes]) => bytes.includes("copy transactions to stdout"))).toBe(true);
  } finally {
    await only.stop();
  }
}, 60_000);
