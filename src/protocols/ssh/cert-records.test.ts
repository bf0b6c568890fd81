import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrCreateCa } from "./cert-authority.ts";
import { type CertificateRecord, CertificateRecords, RECORDS_DIR } from "./cert-records.ts";

const dir = () => mkdtempSync(join(tmpdir(), "custos-cert-records-"));
const record = (serial: bigint, validBefore: number): CertificateRecord => ({
  serial,
  identity: {
    subject: "dana@bank.example",
    issuer: "https://idp.example",
    groups: ["sre"],
    kind: "human",
    method: "oidc",
    expiresAt: validBefore * 1000,
    context: {},
  },
  keyFingerprint: "SHA256:abc",
  connection: null,
  validBefore,
  revoked: null,
});

describe("certificate records", () => {
  test("round trip; expired records are pruned, live and revoked-but-live ones kept", () => {
    const d = dir();
    const records = new CertificateRecords(d, loadOrCreateCa(d));
    const now = 2_000_000_000;
    records.put(record(1n, now - 1));
    records.put(record(2n, now + 60));
    records.put({ ...record(3n, now + 60), revoked: { at: "2033-05-18T03:33:20.000Z", by: "root" } });
    expect(records.get(2n)).toEqual({ kind: "found", record: record(2n, now + 60) });
    records.prune(now);
    expect(records.get(1n)).toEqual({ kind: "missing" });
    expect(existsSync(join(d, RECORDS_DIR, "1.json"))).toBe(false);
    expect(
      records
        .list()
        .map((r) => Number(r.serial))
        .sort(),
    ).toEqual([2, 3]);
  });

  test("a record signed by another CA, or edited, is invalid, not missing", () => {
    const d = dir();
    const records = new CertificateRecords(d, loadOrCreateCa(d));
    records.put(record(7n, 2_000_000_000));
    const file = join(d, RECORDS_DIR, "7.json");
    const other = dir();
    new CertificateRecords(other, loadOrCreateCa(other)).put(record(7n, 2_000_000_000));
    writeFileSync(file, readFileSync(join(other, RECORDS_DIR, "7.json")));
    expect(records.get(7n).kind).toBe("invalid");
    writeFileSync(file, "[]");
    expect(records.get(7n).kind).toBe("invalid");
  });
});
