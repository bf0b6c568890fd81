// The independent verifier's primitives, against references it shares no code with: its pure-Python
// Ed25519 against the RFC 8032 §7.1 vectors and against signatures from Bun's WebCrypto (good and bad),
// and its RFC 9162 proof checks against proofs from src/audit/merkle.ts, including wrong ones.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { generateSignerKeys, importSigner } from "../../src/audit/checkpoint.ts";
import { hex } from "../../src/audit/codec.ts";
import { consistencyProof, fromLeaves, inclusionProof, leafHash, rootOf } from "../../src/audit/merkle.ts";

const VERIFIER_DIR = join(import.meta.dir, "..", "..", "src", "audit", "evidence");

async function python(script: string, input: unknown): Promise<unknown> {
  const proc = Bun.spawn(
    [
      "python3",
      "-c",
      `import sys, json\nsys.path.insert(0, ${JSON.stringify(VERIFIER_DIR)})\nimport verifier as v\n${script}`,
    ],
    {
      stdin: Buffer.from(JSON.stringify(input)),
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(err);
  return JSON.parse(out);
}

describe("verify.py", () => {
  test("its Ed25519 passes the RFC 8032 vectors (and rejects altered ones)", async () => {
    const proc = Bun.spawn(["python3", join(VERIFIER_DIR, "verifier.py"), "--self-test"], { stdout: "pipe" });
    expect(await new Response(proc.stdout).text()).toContain("ok");
    expect(await proc.exited).toBe(0);
  });

  test("its Ed25519 agrees with WebCrypto on good and forged signatures", async () => {
    const keys = await generateSignerKeys();
    const signer = await importSigner(keys);
    const cases: { key: string; msg: string; sig: string; good: boolean }[] = [];
    for (let i = 0; i < 8; i++) {
      const msg = crypto.getRandomValues(new Uint8Array(i * 37));
      const sig = await signer.sign(msg);
      cases.push({ key: hex(keys.publicKeyRaw), msg: hex(msg), sig: hex(sig), good: true });
      const bad = new Uint8Array(sig);
      bad[i * 7] = bad[i * 7]! ^ 0x40;
      cases.push({ key: hex(keys.publicKeyRaw), msg: hex(msg), sig: hex(bad), good: false });
      cases.push({ key: hex(keys.publicKeyRaw), msg: `${hex(msg)}00`, sig: hex(sig), good: false });
    }
    const got = await python(
      "cases = json.load(sys.stdin)\nprint(json.dumps([v.ed25519_verify(bytes.fromhex(c['key']), bytes.fromhex(c['msg']), bytes.fromhex(c['sig'])) for c in cases]))",
      cases,
    );
    expect(got).toEqual(cases.map((c) => c.good));
  });

  test("its inclusion and consistency checks accept merkle.ts's proofs and reject altered ones", async () => {
    const cases: unknown[] = [];
    for (const n of [1, 2, 3, 5, 8, 13, 31, 64, 100]) {
      const leaves = Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`e${i}`)));
      const mth = fromLeaves(leaves);
      const root = rootOf(leaves);
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(m, n, mth).map(hex);
        cases.push({ kind: "inc", m, n, leaf: hex(leaves[m]!), proof, root: hex(root), good: true });
        if (proof.length)
          cases.push({
            kind: "inc",
            m,
            n,
            leaf: hex(leaves[m]!),
            proof: [...proof.slice(1), proof[0]],
            root: hex(root),
            good: proof.length === 1 ? true : "any",
          });
        cases.push({
          kind: "inc",
          m: (m + 1) % n,
          n,
          leaf: hex(leaves[m]!),
          proof,
          root: hex(root),
          good: n === 1,
        });
      }
      for (let m = 1; m <= n; m++) {
        const old = rootOf(leaves.slice(0, m));
        const proof = consistencyProof(m, n, mth).map(hex);
        cases.push({ kind: "con", m, n, old: hex(old), root: hex(root), proof, good: true });
        if (m < n)
          cases.push({ kind: "con", m, n, old: hex(leaves[0]!), root: hex(root), proof, good: m === 1 });
      }
    }
    const got = (await python(
      `cases = json.load(sys.stdin)
h = bytes.fromhex
out = []
for c in cases:
    p = [h(x) for x in c['proof']]
    if c['kind'] == 'inc':
        out.append(v.verify_inclusion(c['m'], c['n'], h(c['leaf']), p, h(c['root'])))
    else:
        out.append(v.verify_consistency(c['m'], c['n'], h(c['old']), h(c['root']), p))
print(json.dumps(out))`,
      cases,
    )) as boolean[];
    (cases as { good: boolean | "any" }[]).forEach((c, i) => {
      if (c.good !== "any") expect({ i, ok: got[i] }).toEqual({ i, ok: c.good });
    });
  });
});
