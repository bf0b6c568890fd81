// OpenSSH user certificates, ed25519 only: the `ssh-ed25519-cert-v01@openssh.com` blob parsed and built.
// Byte layout from OpenSSH's PROTOCOL.certkeys ("Certificate formats"); strings and uint32/uint64 as in
// RFC 4251 §5. Pure: no keys, no clock, no I/O (signing and checking are in cert-authority.ts).

export const CERT_ALGO = "ssh-ed25519-cert-v01@openssh.com";
export const ED25519 = "ssh-ed25519";
/** PROTOCOL.certkeys: SSH_CERT_TYPE_USER = 1, SSH_CERT_TYPE_HOST = 2. */
export const CERT_TYPE_USER = 1;
/** A certificate is a few hundred bytes; more is not one this gateway could have signed. */
const MAX_CERT_BYTES = 16 * 1024;

export interface UserCertificate {
  nonce: Uint8Array;
  /** The certified ed25519 public key (32 bytes). */
  publicKey: Uint8Array;
  serial: bigint;
  type: number;
  keyId: string;
  principals: string[];
  /** Seconds since the epoch (PROTOCOL.certkeys: valid after <= now < valid before). */
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: Map<string, Uint8Array>;
  extensions: Map<string, Uint8Array>;
  /** The CA's public key blob (string "ssh-ed25519", string key). */
  signatureKey: Uint8Array;
  /** The CA's signature blob (string algorithm, string signature). */
  signature: Uint8Array;
  /** Everything the CA signed: the blob from its start up to and including the signature key. */
  signed: Uint8Array;
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}
  get offset(): number {
    return this.pos;
  }
  get done(): boolean {
    return this.pos === this.buf.length;
  }
  u32(): number {
    if (this.pos + 4 > this.buf.length) throw new CertFormatError("truncated uint32");
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getUint32(0);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    if (this.pos + 8 > this.buf.length) throw new CertFormatError("truncated uint64");
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getBigUint64(0);
    this.pos += 8;
    return v;
  }
  bytes(): Uint8Array {
    const n = this.u32();
    if (this.pos + n > this.buf.length) throw new CertFormatError("truncated string");
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  text(): string {
    const b = this.bytes();
    const s = new TextDecoder("utf-8", { fatal: true }).decode(b);
    return s;
  }
}

export class CertFormatError extends Error {}

/** name/data pairs, lexically ordered without repeats (PROTOCOL.certkeys: critical options, extensions). */
function readOptions(buf: Uint8Array, what: string): Map<string, Uint8Array> {
  const r = new Reader(buf);
  const out = new Map<string, Uint8Array>();
  let last: string | null = null;
  while (!r.done) {
    const name = r.text();
    const data = r.bytes();
    if (last !== null && name <= last) throw new CertFormatError(`${what} out of order or repeated`);
    last = name;
    out.set(name, data);
  }
  return out;
}

/** Parses a certificate blob; throws CertFormatError for anything but a well-formed ed25519 one. */
export function parseUserCertificate(blob: Uint8Array): UserCertificate {
  if (blob.length > MAX_CERT_BYTES) throw new CertFormatError("certificate too large");
  const r = new Reader(blob);
  if (r.text() !== CERT_ALGO) throw new CertFormatError(`not an ${CERT_ALGO} certificate`);
  const nonce = r.bytes();
  const publicKey = r.bytes();
  if (publicKey.length !== 32) throw new CertFormatError("an ed25519 key is 32 bytes");
  const serial = r.u64();
  const type = r.u32();
  const keyId = r.text();
  const principalsBlob = r.bytes();
  const principals: string[] = [];
  const pr = new Reader(principalsBlob);
  while (!pr.done) principals.push(pr.text());
  const validAfter = r.u64();
  const validBefore = r.u64();
  const criticalOptions = readOptions(r.bytes(), "critical options");
  const extensions = readOptions(r.bytes(), "extensions");
  r.bytes(); // reserved
  const signatureKey = r.bytes();
  const signedEnd = r.offset;
  const signature = r.bytes();
  if (!r.done) throw new CertFormatError("trailing bytes after the signature");
  return {
    nonce,
    publicKey,
    serial,
    type,
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    extensions,
    signatureKey,
    signature,
    signed: blob.subarray(0, signedEnd),
  };
}

/** `string name, string key` (RFC 4251 §5, RFC 8709 §4): the wire form of an ed25519 public key. */
export function ed25519Blob(key: Uint8Array): Uint8Array {
  return concat([str(ED25519), str(key)]);
}

/** The raw 32-byte key of an `ssh-ed25519` public key blob, or null for any other blob. */
export function ed25519FromBlob(blob: Uint8Array): Uint8Array | null {
  try {
    const r = new Reader(blob);
    if (r.text() !== ED25519) return null;
    const key = r.bytes();
    return key.length === 32 && r.done ? key : null;
  } catch {
    return null;
  }
}

/** The raw 64-byte signature of an `ssh-ed25519` signature blob (RFC 8709 §6), or null. */
export function ed25519Signature(blob: Uint8Array): Uint8Array | null {
  try {
    const r = new Reader(blob);
    if (r.text() !== ED25519) return null;
    const sig = r.bytes();
    return sig.length === 64 && r.done ? sig : null;
  } catch {
    return null;
  }
}

export type UnsignedCertificate = Omit<UserCertificate, "signature" | "signed">;

/** The blob a CA signs: every field up to and including the signature key. */
export function encodeToBeSigned(c: UnsignedCertificate): Uint8Array {
  return concat([
    str(CERT_ALGO),
    str(c.nonce),
    str(c.publicKey),
    u64(c.serial),
    u32(c.type),
    str(c.keyId),
    str(concat(c.principals.map((p) => str(p)))),
    u64(c.validAfter),
    u64(c.validBefore),
    str(encodeOptions(c.criticalOptions)),
    str(encodeOptions(c.extensions)),
    str(new Uint8Array(0)),
    str(c.signatureKey),
  ]);
}

export function encodeCertificate(toBeSigned: Uint8Array, signature: Uint8Array): Uint8Array {
  return concat([toBeSigned, str(concat([str(ED25519), str(signature)]))]);
}

function encodeOptions(m: Map<string, Uint8Array>): Uint8Array {
  return concat([...m.keys()].sort().map((k) => concat([str(k), str(m.get(k)!)])));
}

function str(v: string | Uint8Array): Uint8Array {
  const b = typeof v === "string" ? new TextEncoder().encode(v) : v;
  return concat([u32(b.length), b]);
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function u64(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n);
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
