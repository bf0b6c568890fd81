// The gateway's record of each certificate it issued, kept on disk so certificates survive a restart
// without any token being written: one file per serial under data_dir/ssh-certificates (0700, files 0600)
// holding only what a login needs (the identity as the issuing token proved it, the certified key's
// fingerprint, the connection binding, valid-until, and a revocation mark), signed by the SSH CA key. A file
// that does not verify, names another serial or cannot be read refuses the login (fail closed); expired files
// are pruned. Revocation (`custos ssh revoke`, another process) rewrites the file, so each login reads it.
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Identity } from "../../core/identity.ts";

export const RECORDS_DIR = "ssh-certificates";

export interface CertificateRecord {
  serial: bigint;
  /** The identity the issuing token proved: subject, issuer, groups, kind, method, context, expiry. */
  identity: Identity;
  /** OpenSSH `SHA256:…` fingerprint of the certified ed25519 key. */
  keyFingerprint: string;
  /** The one connection the certificate is for, or null for any the identity may open. */
  connection: string | null;
  /** Epoch seconds. */
  validBefore: number;
  revoked: { at: string; by: string } | null;
}

/** Signs and checks record bytes (the SSH CA key: whoever may issue certificates may vouch for records). */
export interface RecordSigner {
  signRecord(data: Uint8Array): Uint8Array;
  verifyRecord(data: Uint8Array, signature: Uint8Array): boolean;
}

export type RecordLookup =
  | { kind: "found"; record: CertificateRecord }
  | { kind: "missing" }
  | { kind: "invalid"; reason: string };

const SERIAL = /^[0-9]{1,20}$/;

export class CertificateRecords {
  private readonly dir: string;

  constructor(
    dataDir: string,
    private readonly signer: RecordSigner,
  ) {
    this.dir = join(dataDir, RECORDS_DIR);
  }

  put(r: CertificateRecord): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const body = Buffer.from(JSON.stringify(toJson(r)));
    const file = JSON.stringify({ record: body.toString("utf8"), sig: b64(this.signer.signRecord(body)) });
    const path = this.path(r.serial);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, file, { mode: 0o600 });
    renameSync(tmp, path);
  }

  get(serial: bigint): RecordLookup {
    let text: string;
    try {
      text = readFileSync(this.path(serial), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
      return { kind: "invalid", reason: `its record cannot be read (${(err as Error).message})` };
    }
    try {
      const outer = JSON.parse(text) as { record?: unknown; sig?: unknown };
      if (typeof outer.record !== "string" || typeof outer.sig !== "string") throw new Error("fields");
      const body = Buffer.from(outer.record, "utf8");
      if (!this.signer.verifyRecord(body, Buffer.from(outer.sig, "base64")))
        return { kind: "invalid", reason: "its record's signature does not verify" };
      const record = fromJson(JSON.parse(outer.record));
      if (record.serial !== serial) return { kind: "invalid", reason: "its record names another serial" };
      return { kind: "found", record };
    } catch {
      return { kind: "invalid", reason: "its record is malformed" };
    }
  }

  /** Every readable, verified record (for revocation by subject and for pruning). */
  list(): CertificateRecord[] {
    const out: CertificateRecord[] = [];
    for (const serial of this.serials()) {
      const r = this.get(serial);
      if (r.kind === "found") out.push(r.record);
    }
    return out;
  }

  /** Removes the records of certificates that have expired (a revoked one is kept until then). */
  prune(nowSec: number): void {
    for (const r of this.list()) if (nowSec >= r.validBefore) rmSync(this.path(r.serial), { force: true });
  }

  count(): number {
    return this.serials().length;
  }

  private serials(): bigint[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => n.endsWith(".json") && SERIAL.test(n.slice(0, -5)))
      .map((n) => BigInt(n.slice(0, -5)));
  }

  private path(serial: bigint): string {
    return join(this.dir, `${serial.toString()}.json`);
  }
}

function b64(u: Uint8Array): string {
  return Buffer.from(u).toString("base64");
}

function toJson(r: CertificateRecord) {
  return {
    serial: r.serial.toString(),
    identity: r.identity,
    key_fingerprint: r.keyFingerprint,
    connection: r.connection,
    valid_before: r.validBefore,
    revoked: r.revoked,
  };
}

function fromJson(j: Record<string, unknown>): CertificateRecord {
  const id = j.identity as Identity;
  if (
    typeof j.serial !== "string" ||
    !SERIAL.test(j.serial) ||
    typeof id?.subject !== "string" ||
    typeof id.issuer !== "string" ||
    !Array.isArray(id.groups) ||
    !id.groups.every((g) => typeof g === "string") ||
    typeof id.kind !== "string" ||
    typeof id.expiresAt !== "number" ||
    typeof j.key_fingerprint !== "string" ||
    (j.connection !== null && typeof j.connection !== "string") ||
    typeof j.valid_before !== "number"
  )
    throw new Error("malformed record");
  return {
    serial: BigInt(j.serial),
    identity: { ...id, context: id.context ?? {} },
    keyFingerprint: j.key_fingerprint,
    connection: j.connection as string | null,
    validBefore: j.valid_before,
    revoked: (j.revoked as CertificateRecord["revoked"]) ?? null,
  };
}
