import { describe, expect, test } from "bun:test";
import { FIXTURE_COUNTS, fixtureDecoys, fixtureRows, fixtureSecrets, fixtureSql } from "./fixture.ts";
import { generateFixture } from "./fixture-data.ts";
import { luhnValid } from "./luhn.ts";

const rows = fixtureRows();

describe("demo fixture", () => {
  test("has the advertised row counts", () => {
    expect(rows.customers.length).toBe(FIXTURE_COUNTS.customers);
    expect(rows.accounts.length).toBe(FIXTURE_COUNTS.accounts);
    expect(rows.cards.length).toBe(FIXTURE_COUNTS.cards);
    expect(rows.transactions.length).toBe(FIXTURE_COUNTS.transactions);
    expect(rows.orders.length).toBe(FIXTURE_COUNTS.orders);
  });

  test("is deterministic: same seed, same bytes; another seed, other values", () => {
    expect(generateFixture()).toEqual(rows);
    expect(generateFixture(7).customers[1]?.ssn).not.toBe(rows.customers[1]?.ssn);
    // Values tests may rely on.
    expect(rows.customers[0]).toMatchObject({ id: 1, ssn: "078-05-1120", fullName: "Margaret Ritchie" });
    expect(rows.cards[0]?.cardNumber).toBe("4111111111111111");
  });

  test("SSNs look issued (no 000, 666 or 9xx area, no 00 group, no 0000 serial) and are unique", () => {
    const ssns = rows.customers.map((c) => c.ssn);
    expect(new Set(ssns).size).toBe(ssns.length);
    for (const ssn of ssns) {
      const m = /^(\d{3})-(\d{2})-(\d{4})$/.exec(ssn);
      expect(m).not.toBeNull();
      const [, area, group, serial] = m as RegExpExecArray;
      expect(["000", "666"]).not.toContain(area);
      expect(area?.startsWith("9")).toBe(false);
      expect(group).not.toBe("00");
      expect(serial).not.toBe("0000");
    }
  });

  test("every card number is a unique Luhn-valid PAN; every order id is 16 digits and fails Luhn", () => {
    const pans = rows.cards.map((c) => c.cardNumber);
    expect(new Set(pans).size).toBe(pans.length);
    for (const pan of pans) expect(luhnValid(pan)).toBe(true);
    const { orderIds, phoneLike, ssnLike } = fixtureDecoys();
    for (const id of orderIds) {
      expect(id).toMatch(/^[1-9]\d{15}$/);
      expect(luhnValid(id)).toBe(false);
    }
    expect(orderIds.filter((id) => id.startsWith("4")).length).toBeGreaterThanOrEqual(
      FIXTURE_COUNTS.orders / 2,
    );
    for (const p of phoneLike) expect(p).toMatch(/^\d{3}555\d{4}$/);
    for (const s of ssnLike) expect(s).toMatch(/^\d{9}$/);
  });

  test("routing numbers pass the ABA checksum; every account belongs to a customer", () => {
    for (const a of rows.accounts) {
      const d = [...a.routingNumber].map(Number);
      const sum = 3 * (d[0]! + d[3]! + d[6]!) + 7 * (d[1]! + d[4]! + d[7]!) + (d[2]! + d[5]! + d[8]!);
      expect(a.routingNumber).toMatch(/^\d{9}$/);
      expect(sum % 10).toBe(0);
      expect(a.customerId).toBeGreaterThanOrEqual(1);
      expect(a.customerId).toBeLessThanOrEqual(FIXTURE_COUNTS.customers);
    }
    // Every customer has at least one account.
    expect(new Set(rows.accounts.map((a) => a.customerId)).size).toBe(FIXTURE_COUNTS.customers);
  });

  test("fixtureSecrets lists every SSN and PAN once; some memos carry them in free text", () => {
    const secrets = fixtureSecrets();
    expect(secrets.length).toBe(FIXTURE_COUNTS.customers + FIXTURE_COUNTS.cards);
    expect(new Set(secrets).size).toBe(secrets.length);
    const leakyMemos = rows.transactions.filter((t) => t.memo && secrets.some((s) => t.memo?.includes(s)));
    expect(leakyMemos.length).toBe(10);
  });

  test("the SQL escapes quotes and defines the masking-test view", () => {
    const sql = fixtureSql();
    expect(rows.customers.some((c) => c.fullName.includes("'"))).toBe(true);
    expect(sql).toContain("O''Neil");
    expect(sql).toContain("c.ssn as tax_id");
  });
});
