// The demo bank fixture: SQL to load, generated rows tests can rely on, and the raw secrets to scan for leaks.
import { FIXTURE_COUNTS, type FixtureRows, generateFixture } from "./fixture-data.ts";
import { renderFixtureSql } from "./fixture-sql.ts";

export { FIXTURE_COUNTS, FIXTURE_SEED, type FixtureRows } from "./fixture-data.ts";

let cached: { rows: FixtureRows; sql: string } | undefined;

function fixture(): { rows: FixtureRows; sql: string } {
  if (!cached) {
    const rows = generateFixture();
    cached = { rows, sql: renderFixtureSql(rows) };
  }
  return cached;
}

/** The generated rows, exactly as loaded. Treat as read-only: it is shared. */
export function fixtureRows(): FixtureRows {
  return fixture().rows;
}

export function fixtureSql(): string {
  return fixture().sql;
}

/** Every SSN ("078-05-1120" form) and card number (digits only) in the fixture, as stored. */
export function fixtureSecrets(): string[] {
  const { customers, cards } = fixture().rows;
  return [...customers.map((c) => c.ssn), ...cards.map((c) => c.cardNumber)];
}

/** Values shaped like secrets that are not: Luhn-failing 16-digit order ids, phone-like and SSN-like integers. */
export function fixtureDecoys(): { orderIds: string[]; phoneLike: string[]; ssnLike: string[] } {
  const { orders } = fixture().rows;
  return {
    orderIds: orders.map((o) => o.id),
    phoneLike: orders.map((o) => String(o.contactPhone)),
    ssnLike: orders.map((o) => String(o.batchCode)),
  };
}

export const FIXTURE_TABLES = Object.keys(FIXTURE_COUNTS) as (keyof typeof FIXTURE_COUNTS)[];
