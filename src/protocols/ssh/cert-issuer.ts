// Certificates for `custos ssh login`, and the record that makes one usable. The CLI sends only its new
// public key with the caller's identity token; the gateway checks the token through the same identity path
// as every session (a front-door session: token verified, connections the groups may open listed,
// `ssh.certificate_issued` recorded), signs a certificate (principal = subject, valid until the token
// expires) and writes a signed record (cert-records.ts): serial → the identity the token proved, the key's
// fingerprint, the connection binding and valid-until; never the token. A login with the certificate opens
// its session with that identity (gateway.open: connection, groups and grants checked again then), so groups
// never come from the certificate, and a certificate whose record is gone, revoked, expired or does not
// verify opens nothing, even if validly signed. Records survive a restart of the gateway.
import { createHash, randomBytes } from "node:crypto";
import { CustosError } from "../../core/errors.ts";
import type { Gateway } from "../../core/session.ts";
import type { CertificateAuthority } from "./cert-authority.ts";
import { CERT_ALGO, ed25519FromBlob } from "./cert-codec.ts";
import { type CertificateRecord, CertificateRecords, type RecordLookup } from "./cert-records.ts";
import { PROTOCOL } from "./command.ts";

export interface CertificateAnswer {
  certificate: string;
  serial: string;
  principal: string;
  valid_before: string;
  connections: string[];
}

/** Extensions a certificate carries: a PTY only (policy still decides each shell); no forwarding, no rc. */
export const CERT_EXTENSIONS = ["permit-pty"];
/** Bounds the live records; expired ones are pruned first. */
const MAX_RECORDS = 10_000;
/** Clock skew allowed for valid-after. */
const SKEW_SEC = 60;

export class CertificateIssuer {
  private readonly records: CertificateRecords;

  constructor(
    private readonly gateway: Gateway,
    private readonly ca: CertificateAuthority,
    private readonly sshConnections: ReadonlySet<string>,
    dataDir: string,
  ) {
    this.records = new CertificateRecords(dataDir, ca);
    this.records.prune(Math.floor(Date.now() / 1000));
  }

  async issue(
    token: string,
    publicKeyLine: string,
    connection: string | null,
    clientAddr: string,
  ): Promise<CertificateAnswer | CustosError> {
    const m = /^ssh-ed25519 ([A-Za-z0-9+/]+={0,2})(?:\s|$)/.exec(publicKeyLine.trim());
    const publicKey = m ? ed25519FromBlob(Buffer.from(m[1]!, "base64")) : null;
    if (!publicKey)
      return new CustosError("protocol.malformed", "public_key must be an `ssh-ed25519 AAAA…` line");
    if (!this.gateway.openFrontDoor)
      return new CustosError("internal", "this gateway cannot check a token outside a session");
    const door = await this.gateway.openFrontDoor({
      protocol: PROTOCOL,
      clientAddr,
      credential: token,
      user: "custos ssh login",
      connection: "ssh-certificate",
      tls: null,
    });
    if (!door.ok) return door.error;
    const session = door.session;
    const stats = { bytesFromClient: 0, bytesToClient: 0, commands: 0 };
    try {
      const usable = door.connections.filter((c) => this.sshConnections.has(c.name)).map((c) => c.name);
      if (connection !== null && !this.sshConnections.has(connection))
        return new CustosError("access.unknown_connection", `no ssh connection named "${connection}"`);
      if (connection !== null && !usable.includes(connection))
        return new CustosError("access.forbidden", `permission denied for connection "${connection}"`);
      if (usable.length === 0)
        return new CustosError("access.forbidden", "the identity may open no ssh connection");
      const identity = session.identity;
      const nowSec = Math.floor(Date.now() / 1000);
      const validBefore = Math.floor(identity.expiresAt / 1000);
      if (validBefore <= nowSec) return new CustosError("identity.expired", "the token has expired");
      this.records.prune(nowSec);
      if (this.records.count() >= MAX_RECORDS)
        return new CustosError("session.limit", "too many live SSH certificates");
      const serial = randomBytes(8).readBigUInt64BE(0);
      const keyId = `custos:${identity.subject}`;
      const blob = this.ca.sign({
        publicKey,
        serial,
        keyId,
        principals: [identity.subject],
        validAfter: BigInt(nowSec - SKEW_SEC),
        validBefore: BigInt(validBefore),
        extensions: CERT_EXTENSIONS,
      });
      // Written before the certificate is handed out: a certificate without its record could not log in.
      this.records.put({
        serial,
        identity,
        keyFingerprint: fingerprint(publicKey),
        connection,
        validBefore,
        revoked: null,
      });
      session.event("ssh.certificate_issued", {
        serial: serial.toString(),
        key_id: keyId,
        principal: identity.subject,
        key_fingerprint: fingerprint(publicKey),
        valid_before: new Date(validBefore * 1000).toISOString(),
        connection,
        extensions: CERT_EXTENSIONS,
      });
      return {
        certificate: `${CERT_ALGO} ${Buffer.from(blob).toString("base64")} ${keyId}`,
        serial: serial.toString(),
        principal: identity.subject,
        valid_before: new Date(validBefore * 1000).toISOString(),
        connections: connection !== null ? [connection] : usable,
      };
    } finally {
      await session.close("client", stats);
    }
  }

  /** The record of a certificate this gateway issued; an expired one is pruned and reported missing. */
  lookup(serial: bigint, nowSec: number): RecordLookup {
    const r = this.records.get(serial);
    if (r.kind === "found" && nowSec >= r.record.validBefore) {
      this.records.prune(nowSec);
      return { kind: "missing" };
    }
    return r;
  }
}

export type { CertificateRecord };

/** OpenSSH's `SHA256:…` fingerprint of an ed25519 key (unpadded base64 of the blob's SHA-256). */
export function fingerprint(raw: Uint8Array): string {
  const blob = Buffer.concat([
    Buffer.from([0, 0, 0, 11]),
    Buffer.from("ssh-ed25519"),
    Buffer.from([0, 0, 0, 32]),
    raw,
  ]);
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}
