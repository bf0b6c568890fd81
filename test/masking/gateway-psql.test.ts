// Masking through the live gateway with psql as an agent against the bank fixture: aliases, `*`, `t.*`,
// views, joins, free text, COPY (server-side TO STDOUT and psql's \copy, text and CSV), NULLs, multi-MB
// values, decoys that must stay unmasked, expressions and oracles denied, binary COPY refused; humans
// see data unmasked.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fixtureDecoys, fixtureRows } from "../../src/demo/fixture.ts";
import { psql } from "../support/gateway.ts";
import { leakedSecrets, type MaskingWorld, startMaskingWorld } from "./gateway-support.ts";

let world: MaskingWorld;
let agent: string;
let human: string;

beforeAll(async () => {
  world = await startMaskingWorld();
  agent = await world.agentUrl("agent-psql@bank.example", "psql-agent");
  human = await world.humanUrl("analyst@bank.example", "psql-human");
}, 60_000);

afterAll(async () => {
  await world?.stop();
});

async function rows(url: string, sql: string): Promise<string[][]> {
  const r = await psql(url, ["-tA", "-F", "\t", "-c", sql]);
  expect({ sql, stderr: r.stderr, code: r.code }).toEqual({ sql, stderr: "", code: 0 });
  expect(leakedSecrets(r.stdout)).toEqual([]);
  return r.stdout
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => l.split("\t"));
}

async function refused(url: string, sql: string): Promise<string> {
  const r = await psql(url, ["-tA", "-c", sql]);
  expect(r.code).not.toBe(0);
  expect(leakedSecrets(r.stdout + r.stderr)).toEqual([]);
  return r.stderr;
}

const customers = () => fixtureRows().customers;
const SSN_MASKED = /^\*{3}-\*{2}-\d{4}$/;

describe("psql as an agent", () => {
  test("a sensitive column is masked under its own name and under an alias", async () => {
    const plain = await rows(agent, "select id, ssn, full_name from customers order by id limit 5");
    const aliased = await rows(agent, 'select ssn as x, ssn as "Tax" from customers order by id limit 5');
    plain.forEach((r, i) => {
      const c = customers()[i]!;
      expect(r[0]).toBe(String(c.id));
      expect(r[1]).toMatch(SSN_MASKED);
      expect(r[1]!.slice(-4)).toBe(c.ssn.slice(-4));
      expect(r[2]).toBe(c.fullName); // not sensitive: untouched
      expect(aliased[i]).toEqual([r[1]!, r[1]!]);
    });
  });

  test("`*`, `t.*`, a view renaming the SSN and a join are masked by the catalog", async () => {
    const star = await rows(agent, "select * from customers order by id limit 3");
    const tstar = await rows(agent, "select c.* from customers c order by id limit 3");
    expect(tstar).toEqual(star);
    for (const [i, r] of star.entries()) {
      expect(r[2]).not.toBe(customers()[i]!.email);
      expect(r[2]).toContain("***"); // email, partial
      expect(r[4]).toMatch(SSN_MASKED);
    }
    const view = await rows(agent, "select id, tax_id, email from customer_summary order by id limit 3");
    for (const r of view) expect(r[1]).toMatch(SSN_MASKED);
    const join = await rows(
      agent,
      `select c.full_name, a.account_number, k.card_number from customers c
         join accounts a on a.customer_id = c.id join cards k on k.account_id = a.id order by k.id limit 5`,
    );
    expect(join).toHaveLength(5);
    for (const r of join) {
      expect(r[2]).toMatch(/^\*+\d{4}$/);
      expect(r[1]).toMatch(/^\*+\d{4}$/);
    }
  });

  test("free text: SSNs and card numbers inside transactions.memo are masked by detectors", async () => {
    const memos = await rows(
      agent,
      "select id, memo from transactions where memo like '%SSN%' or memo like '%card%'",
    );
    expect(memos.length).toBeGreaterThan(3);
    for (const [, memo] of memos) expect(memo).toContain("[REDACTED]");
  });

  test("values that only look sensitive are not masked: Luhn-failing order ids and SSN-like integers", async () => {
    const decoys = fixtureDecoys();
    // `*` names no column: detectors, and the pack's canonical name rules matched by spelling
    // (src/masking/sensitive-names.ts), so `contact_phone` is masked as a `phone` column while
    // `batch_code` and the ids are not.
    const rowsGot = await rows(agent, "select * from orders order by id");
    const got = rowsGot.map((r) => [r[0]!, r[5]!]);
    const want = [...decoys.orderIds.keys()]
      .map((i) => [decoys.orderIds[i]!, decoys.ssnLike[i]!])
      .sort((a, b) => (BigInt(a[0]!) < BigInt(b[0]!) ? -1 : 1));
    expect(got).toEqual(want);
    const phones = new Set(decoys.phoneLike);
    for (const r of rowsGot) expect(phones.has(r[4]!)).toBe(false);
  });

  test("NULLs stay NULL and multi-MB values pass beside masked ones", async () => {
    const r = await psql(agent, [
      "-tA",
      "-F",
      "\t",
      "-c",
      "select ssn, null::text as nothing, repeat('x', 3000000) as pad, length(repeat('y', 10)) from customers order by id limit 2",
    ]);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => l.split("\t"));
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l[0]).toMatch(SSN_MASKED);
      expect(l[1]).toBe("");
      expect(l[2]!.length).toBe(3_000_000);
      expect(l[3]).toBe("10");
    }
    const nulls = await rows(agent, "select count(*) from transactions where memo is null");
    const shown = await rows(agent, "select memo is null from transactions order by id");
    expect(shown.filter((x) => x[0] === "t")).toHaveLength(Number(nulls[0]![0]));
  });

  test("COPY TO STDOUT is masked, in text and CSV, with a header, a delimiter, a column list and a query", async () => {
    const text = await psql(agent, ["-c", "copy customers to stdout"]);
    expect(text.code).toBe(0);
    expect(leakedSecrets(text.stdout)).toEqual([]);
    const lines = text.stdout.trim().split("\n");
    expect(lines).toHaveLength(customers().length);
    expect(lines[0]!.split("\t")[4]).toMatch(SSN_MASKED);

    const csv = await psql(agent, [
      "-c",
      "copy (select id, ssn, email, full_name from customers order by id) to stdout with (format csv, header, delimiter ';')",
    ]);
    expect(csv.code).toBe(0);
    expect(leakedSecrets(csv.stdout)).toEqual([]);
    const csvLines = csv.stdout.trim().split("\n");
    expect(csvLines[0]).toBe("id;ssn;email;full_name");
    expect(csvLines[1]!.split(";")[1]).toMatch(SSN_MASKED);

    const cols = await psql(agent, ["-c", "copy cards (id, card_number) to stdout (format csv)"]);
    expect(cols.code).toBe(0);
    expect(leakedSecrets(cols.stdout)).toEqual([]);
    expect(cols.stdout.split("\n")[0]).toMatch(/^\d+,\*+\d{4}$/);

    const memo = await psql(agent, ["-c", "copy transactions to stdout"]);
    expect(memo.code).toBe(0);
    expect(leakedSecrets(memo.stdout)).toEqual([]);
    expect(memo.stdout).toContain("[REDACTED]");
  });

  test("psql's \\copy (COPY ... TO STDOUT under the hood) is masked too", async () => {
    const r = await psql(agent, [
      "-c",
      "\\copy (select ssn, card_number from customers c join accounts a on a.customer_id = c.id join cards k on k.account_id = a.id) to stdout csv",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").length).toBeGreaterThan(10);
    expect(leakedSecrets(r.stdout)).toEqual([]);
  });

  test("a binary COPY, or one with options the masker does not model, is refused before it runs", async () => {
    expect(await refused(agent, "copy customers to stdout binary")).toContain("binary COPY cannot be masked");
    expect(await refused(agent, "copy customers to stdout (format csv, quote '''')")).toContain(
      "cannot be masked",
    );
    // The session is not harmed: the next COPY works.
    expect((await psql(agent, ["-c", "copy (select 1) to stdout"])).stdout).toBe("1\n");
  });

  test("expressions over masked columns, whole rows and oracles are denied", async () => {
    for (const sql of [
      "select ssn, upper(email) from customers",
      "select ssn::text from customers",
      "select encode(convert_to(ssn, 'UTF8'), 'hex') from customers",
      "select string_agg(card_number, ',') from cards",
      "select (select ssn from customers limit 1) as x",
      "with x as (select ssn as a from customers) select a || '' from x",
      "select upper(tax_id) from customer_summary",
    ]) {
      expect(await refused(agent, sql)).toContain("custos.agent_masked_expression");
    }
    expect(await refused(agent, "select row_to_json(c) from customers c")).toContain(
      "custos.agent_whole_row",
    );
    expect(await refused(agent, "select 'x' as y union all select ssn from customers")).toContain(
      "custos.agent_masked_expression",
    );
    expect(await refused(agent, "select id from customers where ssn like '0%'")).toContain(
      "custos.agent_masked_filter",
    );
  });

  test("a CTE or subquery that renames a masked column is still masked (RowDescription names the source)", async () => {
    const cte = await rows(agent, "with x as (select ssn as a from customers) select a from x limit 3");
    const sub = await rows(agent, "select a from (select ssn as a from customers) s limit 3");
    for (const r of [...cte, ...sub]) expect(r[0]).toMatch(SSN_MASKED);
  });

  test("an error message carrying an SSN-shaped value is masked", async () => {
    const err = await refused(agent, "select '219-09-9999'::int");
    // psql echoes its own query text under the message (LINE 1: …); the server's message is line one.
    const message = err.split("\n")[0]!;
    expect(message).toContain("invalid input syntax for type integer");
    expect(message).not.toContain("219-09-9999");
    expect(message).toContain("[REDACTED]");
  });
});

describe("psql as a human", () => {
  test("humans see data unmasked and may compute over it", async () => {
    const r = await psql(human, ["-tA", "-c", "select ssn, upper(email) from customers order by id limit 1"]);
    expect(r.code).toBe(0);
    const c = customers()[0]!;
    expect(r.stdout.trim()).toBe(`${c.ssn}|${c.email.toUpperCase()}`);
    const copy = await psql(human, ["-c", "copy (select ssn from customers order by id limit 1) to stdout"]);
    expect(copy.stdout).toBe(`${c.ssn}\n`);
  });
});
