import { expect, test } from "bun:test";
import { generateSignerKeys, importSigner, signCheckpoint, signedNote } from "./checkpoint.ts";
import {
  noteVerifierKey,
  parsePublicKeys,
  parseSignedNotes,
  publicKeyFile,
  publicKeyFingerprint,
} from "./trust.ts";

const keys = await generateSignerKeys();
const signer = await importSigner(keys);
const root = new Uint8Array(32).fill(7);

test("the key file round-trips: verifier key line, comments, fingerprint", () => {
  const text = publicKeyFile(keys.publicKeyRaw, "gw-1");
  expect(text).toContain(publicKeyFingerprint(keys.publicKeyRaw));
  const [key] = parsePublicKeys(text);
  expect(Buffer.from(key!).equals(Buffer.from(keys.publicKeyRaw))).toBe(true);
  // The C2SP shape: <name>+<8 hex>+<base64(0x01 || key)>.
  expect(noteVerifierKey(keys.publicKeyRaw, "gw-1")).toMatch(
    /^custos\/audit\/gw-1\+[0-9a-f]{8}\+[A-Za-z0-9+/=]{44}$/,
  );
});

test("a PEM SPKI Ed25519 key is accepted; a verifier key with a wrong hash or another algorithm is not", async () => {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const spki = Buffer.from(await crypto.subtle.exportKey("spki", pair.publicKey)).toString("base64");
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const [fromPem] = parsePublicKeys(`-----BEGIN PUBLIC KEY-----\n${spki}\n-----END PUBLIC KEY-----\n`);
  expect(Buffer.from(fromPem!).equals(Buffer.from(raw))).toBe(true);
  const good = noteVerifierKey(keys.publicKeyRaw, "gw-1");
  const [name, , data] = [good.slice(0, good.indexOf("+")), "", good.slice(good.indexOf("+") + 10)];
  expect(() => parsePublicKeys(`${name}+00000000+${data}`)).toThrow("key hash does not match");
  const other = Buffer.concat([Buffer.from([0x02]), Buffer.from(keys.publicKeyRaw)]).toString("base64");
  expect(() => parsePublicKeys(`${name}+00000000+${other}`)).toThrow("not an Ed25519 key");
  expect(() => parsePublicKeys("# only a comment\n")).toThrow("holds no public key");
});

test("signed notes: one or many (an anchor file), each verified; a changed byte or another signer is refused", async () => {
  const a = await signCheckpoint(signer, "gw-1", 5, root, 1000);
  const b = await signCheckpoint(signer, "gw-1", 9, root, 2000);
  const text = signedNote(a, keys.publicKeyRaw) + signedNote(b, keys.publicKeyRaw);
  const notes = await parseSignedNotes(text, [keys.publicKeyRaw]);
  expect(notes.map((n) => n.checkpoint.size)).toEqual([5, 9]);
  expect(notes[1]!.checkpoint.time).toBe(2000);
  await expect(parseSignedNotes(text.replace("\n9\n", "\n10\n"), [keys.publicKeyRaw])).rejects.toThrow(
    "not signed by the trusted public key",
  );
  const other = (await generateSignerKeys()).publicKeyRaw;
  await expect(parseSignedNotes(text, [other])).rejects.toThrow("not signed by the trusted public key");
  await expect(parseSignedNotes("custos/audit/gw-1\n5\n", [keys.publicKeyRaw])).rejects.toThrow(
    "no signature line",
  );
  await expect(parseSignedNotes("", [keys.publicKeyRaw])).rejects.toThrow("holds no signed checkpoint");
});
