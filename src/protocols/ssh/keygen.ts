// Fresh ed25519 key pairs in OpenSSH's formats. ssh2's generateKeyPairSync under Bun now and then drops a
// leading zero byte of the key (about 1 in 200: a 31-byte public key, a key file ssh2 itself then calls
// malformed), so each pair is parsed and made to sign and verify once before it is used.
import ssh2 from "ssh2";

const PROBE = Buffer.from("custos ed25519 key check");

export function generateEd25519(comment: string): { private: string; public: string } {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync("ed25519", { comment });
    const parsed = ssh2.utils.parseKey(pair.private);
    if (parsed instanceof Error) continue;
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key || key.type !== "ssh-ed25519" || key.getPublicSSH().length !== 4 + 11 + 4 + 32) continue;
    const sig = key.sign(PROBE);
    if (sig instanceof Error || !key.verify(PROBE, sig)) continue;
    return pair;
  }
  throw new Error("could not generate a well-formed ed25519 key");
}
