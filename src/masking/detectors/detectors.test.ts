import { describe, expect, test } from "bun:test";
import { COLUMN_PHONE_LIKE, COLUMN_SSN_LIKE, type Detector } from "../detector.ts";
import { cardDetector } from "./card.ts";
import { customDetector } from "./custom.ts";
import { emailDetector } from "./email.ts";
import { ibanDetector } from "./iban.ts";
import { phoneDetector } from "./phone.ts";
import { ssnDetector } from "./ssn.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function found(d: Detector, text: string, flags = 0): string[] {
  // Pad the value inside a larger buffer so offsets other than 0 are exercised.
  const bytes = enc.encode(`#${text}#`);
  const out: number[] = [];
  d.find(bytes, 1, bytes.length - 1, flags, out);
  const spans: string[] = [];
  for (let k = 0; k < out.length; k += 2) spans.push(dec.decode(bytes.subarray(out[k]!, out[k + 1]!)));
  return spans;
}

describe("card", () => {
  test.each([
    ["4111111111111111", "4111111111111111"],
    ["4111 1111 1111 1111", "4111 1111 1111 1111"],
    ["4111-1111-1111-1111", "4111-1111-1111-1111"],
    ["paid with 5500 0000 0000 0004 yesterday", "5500 0000 0000 0004"],
    ["amex 3782 822463 10005.", "3782 822463 10005"],
    ["378282246310005", "378282246310005"],
    ["6011111111111117", "6011111111111117"],
    ["2223000048400011", "2223000048400011"],
    ["4222222222222", "4222222222222"],
    ["qty 2 4111 1111 1111 1111", "4111 1111 1111 1111"],
    ["a:4012888888881881,b:4111111111111111", "4012888888881881|4111111111111111"],
  ])("finds %p", (text, want) => {
    expect(found(cardDetector, text).join("|")).toBe(want);
  });

  test.each([
    ["order id failing Luhn", "4111111111111112"],
    ["16-digit order id", "1234567890123456"],
    ["Luhn-valid but no issuer", "1000000000000008"],
    ["too long", "41111111111111110000"],
    ["embedded in a longer number", "94111111111111111"],
    ["letters attached", "x4111111111111111"],
    ["decimal", "4111111111111111.50"],
    ["decimal fraction", "0.4111111111111111"],
    ["date", "2024-01-15"],
    ["timestamp", "2024-01-15 10:11:12.123456+00"],
    ["uuid", "550e8400-e29b-41d4-a716-446655440000"],
    ["digit uuid", "12345678-1234-1234-1234-123456789012"],
    ["mixed separators", "4111-1111 1111-1111"],
    ["bad grouping", "41 11111111 111111"],
    ["mastercard wrong length", "5500000000000004000"],
  ])("ignores %s", (_why, text) => {
    expect(found(cardDetector, text)).toEqual([]);
  });
});

describe("ssn", () => {
  test.each([
    ["123-45-6789", "123-45-6789"],
    ["ssn: 078-05-1120.", "078-05-1120"],
    ["a 899-99-9999 b 001-01-0001", "899-99-9999|001-01-0001"],
  ])("finds %p", (text, want) => {
    expect(found(ssnDetector, text).join("|")).toBe(want);
  });

  test.each([
    ["area 000", "000-12-3456"],
    ["area 666", "666-12-3456"],
    ["area 9xx", "912-34-5678"],
    ["group 00", "123-00-4567"],
    ["serial 0000", "123-45-0000"],
    ["part of a longer number", "1-123-45-6789"],
    ["trailing digits", "123-45-67890"],
    ["bare 9 digits outside an SSN column", "123456789"],
    ["phone", "212-555-0123"],
    ["date", "2024-01-15"],
  ])("ignores %s", (_why, text) => {
    expect(found(ssnDetector, text)).toEqual([]);
  });

  test("bare form only in an SSN-like column", () => {
    expect(found(ssnDetector, "123456789", COLUMN_SSN_LIKE)).toEqual(["123456789"]);
    expect(found(ssnDetector, "666456789", COLUMN_SSN_LIKE)).toEqual([]);
    expect(found(ssnDetector, "1234567890", COLUMN_SSN_LIKE)).toEqual([]);
  });

  test.each([
    ['{"ssn":"123456789"}', "123456789"],
    ['{"socialSecurityNumber": 123456789}', "123456789"],
    ["taxId=123456789&x=1", "123456789"],
    ["<customer_ssn>123456789</customer_ssn>", "123456789"],
    ["SSN: 123456789", "123456789"],
    ["<tr><th>SSN</th><td>123456789</td></tr>", "123456789"],
  ])("bare form right after a key named like an SSN: %p", (text, want) => {
    expect(found(ssnDetector, text).join("|")).toBe(want);
  });

  test.each([['{"order_id":"123456789"}'], ["lesson=123456789"], ["ssn is not 123456789 here"]])(
    "bare form after other keys is not an SSN: %p",
    (text) => {
      expect(found(ssnDetector, text)).toEqual([]);
    },
  );
});

describe("iban", () => {
  test.each([
    ["DE89370400440532013000", "DE89370400440532013000"],
    ["iban DE89 3704 0044 0532 0130 00 ok", "DE89 3704 0044 0532 0130 00"],
    ["GB82WEST12345698765432", "GB82WEST12345698765432"],
    ["GB82 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 32"],
    ["NO9386011117947", "NO9386011117947"],
    ["FR1420041010050500013M02606", "FR1420041010050500013M02606"],
    // lower(iban) in SQL, a lower-cased API field.
    ["de89370400440532013000", "de89370400440532013000"],
    ["gb82 west 1234 5698 7654 32", "gb82 west 1234 5698 7654 32"],
    ["Fr1420041010050500013m02606", "Fr1420041010050500013m02606"],
  ])("finds %p", (text, want) => {
    expect(found(ibanDetector, text).join("|")).toBe(want);
  });

  test.each([
    ["bad check digits", "DE88370400440532013000"],
    ["wrong length for country", "DE8937040044053201300"],
    ["unknown country", "ZZ89370400440532013000"],
    ["longer token", "DE89370400440532013000X"],
    ["lowercase with a bad check", "de89370400440532013001"],
  ])("ignores %s", (_why, text) => {
    expect(found(ibanDetector, text)).toEqual([]);
  });
});

describe("email", () => {
  test.each([
    ["ada@example.com", "ada@example.com"],
    ["mail Ada.Lovelace+bank@mail.example.co.uk, thanks.", "Ada.Lovelace+bank@mail.example.co.uk"],
    ["<x_y@a-b.io>", "x_y@a-b.io"],
    ["a@b.io and c@d.org", "a@b.io|c@d.org"],
  ])("finds %p", (text, want) => {
    expect(found(emailDetector, text).join("|")).toBe(want);
  });

  test.each([
    ["no domain dot", "root@localhost"],
    ["numeric tld", "a@1.2"],
    ["handle", "@ada"],
    ["no local part", "@example.com"],
    ["dot before at", "ada.@example.com"],
  ])("ignores %s", (_why, text) => {
    expect(found(emailDetector, text)).toEqual([]);
  });
});

describe("phone", () => {
  test.each([
    ["(212) 555-0123", "(212) 555-0123"],
    ["call 212-555-0123 now", "212-555-0123"],
    ["212.555.0123", "212.555.0123"],
    ["1 212 555 0123", "1 212 555 0123"],
    ["+1 212 555 0123", "+1 212 555 0123"],
    ["+44 20 7946 0958", "+44 20 7946 0958"],
    ["+4915112345678", "+4915112345678"],
    ["+1 (212) 555-0123", "+1 (212) 555-0123"],
  ])("finds %p", (text, want) => {
    expect(found(phoneDetector, text).join("|")).toBe(want);
  });

  test.each([
    ["bare integer", "5551234"],
    ["bare 10 digits", "2125550123"],
    ["local 7 digits", "555-1234"],
    ["area code starting with 1", "112-555-0123"],
    ["date", "2024-01-15"],
    ["ssn", "123-45-6789"],
    ["card", "4111-1111-1111-1111"],
    ["uuid", "123e4567-e89b-12d3-a456-426614174000"],
    ["decimal", "3.14159265358"],
    ["short e164", "+123456"],
    ["mixed separators", "212-555.0123"],
    ["longer grouped number", "212-555-0123-99"],
  ])("ignores %s", (_why, text) => {
    expect(found(phoneDetector, text)).toEqual([]);
  });

  test("bare 10 digits in a phone-like column or after a phone-like key", () => {
    expect(found(phoneDetector, "2125550123", COLUMN_PHONE_LIKE)).toEqual(["2125550123"]);
    expect(found(phoneDetector, "12125550123", COLUMN_PHONE_LIKE)).toEqual(["12125550123"]);
    expect(found(phoneDetector, "1125550123", COLUMN_PHONE_LIKE)).toEqual([]);
    expect(found(phoneDetector, '{"mobilePhone":"2125550123"}')).toEqual(["2125550123"]);
    expect(found(phoneDetector, "phone_number=2125550123")).toEqual(["2125550123"]);
    expect(found(phoneDetector, '{"order_id":"2125550123"}')).toEqual([]);
  });
});

describe("custom", () => {
  test("finds pattern hits with byte offsets after multi-byte text", () => {
    const d = customDetector("acct", "ACCT-\\d{6}");
    expect(found(d, "née ACCT-123456 and ACCT-654321")).toEqual(["ACCT-123456", "ACCT-654321"]);
    expect(found(d, "ACCT-12345")).toEqual([]);
  });

  test.each([
    ["bad name", "Acct", "x", "lower_snake_case"],
    ["empty pattern", "acct", "", "pattern must be"],
    ["invalid pattern", "acct", "(", "invalid pattern"],
    ["matches empty", "acct", "\\d*", "empty string"],
  ])("rejects %s", (_why, name, pattern, message) => {
    expect(() => customDetector(name, pattern)).toThrow(message);
  });
});
