// SCRAM-SHA-256 client (RFC 5802, RFC 7677) for authenticating to the upstream server. Channel binding is
// not offered ("n,,"): the gateway verifies the server's certificate itself when configured to.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface ScramState {
  nonce: string;
  clientFirstBare: string;
  password: string;
  serverSignature?: Buffer;
}

export function clientFirst(password: string): { state: ScramState; message: Uint8Array } {
  const nonce = randomBytes(18).toString("base64");
  const clientFirstBare = `n=*,r=${nonce}`;
  return { state: { nonce, clientFirstBare, password }, message: enc.encode(`n,,${clientFirstBare}`) };
}

function parseAttributes(text: string): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) attrs.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return attrs;
}

export function clientFinal(state: ScramState, serverFirst: Uint8Array): Uint8Array {
  const serverFirstText = dec.decode(serverFirst);
  const attrs = parseAttributes(serverFirstText);
  const nonce = attrs.get("r");
  const salt = attrs.get("s");
  const iterations = Number(attrs.get("i"));
  if (!nonce?.startsWith(state.nonce) || !salt || !Number.isInteger(iterations) || iterations < 1) {
    throw new Error("invalid SCRAM server-first message");
  }
  // SASLprep of the password is skipped: PostgreSQL itself falls back to the raw bytes when SASLprep fails,
  // and ASCII passwords (what generated secrets are) are unchanged by it.
  const salted = pbkdf2Sync(state.password, Buffer.from(salt, "base64"), iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const clientFinalNoProof = `c=biws,r=${nonce}`;
  const authMessage = `${state.clientFirstBare},${serverFirstText},${clientFinalNoProof}`;
  const clientSignature = createHmac("sha256", storedKey).update(authMessage).digest();
  const proof = Buffer.alloc(clientKey.length);
  for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!;
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  state.serverSignature = createHmac("sha256", serverKey).update(authMessage).digest();
  return enc.encode(`${clientFinalNoProof},p=${proof.toString("base64")}`);
}

/** The server proves it knew the password too; a mismatch means we are not talking to the real server. */
export function verifyServerFinal(state: ScramState, serverFinal: Uint8Array): boolean {
  const v = parseAttributes(dec.decode(serverFinal)).get("v");
  if (!v || !state.serverSignature) return false;
  const got = Buffer.from(v, "base64");
  return got.length === state.serverSignature.length && timingSafeEqual(got, state.serverSignature);
}

/** md5 password hash as PostgreSQL expects: "md5" + md5(md5(password + user) + salt). */
export function md5Password(user: string, password: string, salt: Uint8Array): string {
  const inner = createHash("md5")
    .update(password + user)
    .digest("hex");
  return `md5${createHash("md5").update(inner).update(salt).digest("hex")}`;
}
