import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  COLUMN_PHONE_LIKE,
  COLUMN_SSN_LIKE,
  columnFlags,
  nameMatchesRule,
  normalizeName,
  SPELLING_TABLE,
  sensitiveName,
} from "./sensitive-names.ts";

describe("normalizeName", () => {
  test.each([
    ["socialSecurityNumber", "social_security_number"],
    ["SocialSecurityNumber", "social_security_number"],
    ["taxID", "tax_id"],
    ["SSNNumber", "ssn_number"],
    ["customer-ssn", "customer_ssn"],
    ["Phone Number", "phone_number"],
    ["E-Mail", "e_mail"],
    ["__ssn__", "ssn"],
    ["ssn_last4", "ssn_last4"],
  ])("%p → %p", (name, want) => {
    expect(normalizeName(name)).toBe(want);
  });
});

describe("sensitiveName", () => {
  test.each([
    ["socialSecurityNumber", "ssn"],
    ["taxId", "ssn"],
    ["customer_ssn", "ssn"],
    ["ssn_last4", "ssn"],
    ["customerSSN", "ssn"],
    ["mobilePhone", "phone"],
    ["phone-number", "phone"],
    ["bankAccount", "account_number"],
    ["bank_account_number", "account_number"],
    ["emailAddress", "email"],
    ["dateOfBirth", "date_of_birth"],
    ["contactNumber", "phone"],
    ["bankAcct", "account_number"],
    ["taxNumber", "ssn"],
    ["lesson", null],
    ["order_id", null],
    ["name", null],
    ["accounts", null],
  ])("%p → %p", (name, want) => {
    expect(sensitiveName(name)).toBe(want);
  });

  test("the policy pack's mask_names all read the same here", () => {
    const lists = JSON.parse(
      readFileSync(join(import.meta.dir, "../../policy/custos/lists/data.json"), "utf8"),
    ) as { mask_names: Record<string, string> };
    for (const [spelling, canonical] of Object.entries(lists.mask_names)) {
      expect([spelling, SPELLING_TABLE[spelling]]).toEqual([spelling, canonical]);
      expect([spelling, sensitiveName(spelling)]).toEqual([spelling, canonical]);
    }
  });
});

describe("nameMatchesRule", () => {
  test("canonical rules match every spelling", () => {
    expect(nameMatchesRule("ssn", "socialSecurityNumber")).toBe(true);
    expect(nameMatchesRule("ssn", "customer_ssn")).toBe(true);
    expect(nameMatchesRule("phone", "mobilePhone")).toBe(true);
    expect(nameMatchesRule("ssn", "lesson")).toBe(false);
    expect(nameMatchesRule("email", "name")).toBe(false);
  });

  test("other rules match the same name or its words at one end", () => {
    expect(nameMatchesRule("salary", "employeeSalary")).toBe(true);
    expect(nameMatchesRule("salary", "salary_band")).toBe(true);
    expect(nameMatchesRule("salary", "salaryman")).toBe(false);
    expect(nameMatchesRule("Nickname", "nickname")).toBe(true);
  });

  test("flags say which bare forms a field holds", () => {
    expect(columnFlags("taxId")).toBe(COLUMN_SSN_LIKE);
    expect(columnFlags("tin")).toBe(COLUMN_SSN_LIKE);
    expect(columnFlags("mobile_phone")).toBe(COLUMN_PHONE_LIKE);
    expect(columnFlags("order_id")).toBe(0);
  });
});
