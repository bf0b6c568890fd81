// `custos evidence verify FILE`: verifies an evidence bundle offline (the TypeScript verifier; the
// bundle's own verify.py is the independent one).
import { readFileSync } from "node:fs";
import { hex, sha256 } from "../audit/codec.ts";
import { readTarGz } from "../audit/evidence/tar.ts";
import { verifyBundle } from "../audit/evidence/verify-bundle.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";

/** An Ed25519 public key as raw 32 bytes, hex, base64, PEM (SPKI) or the bundle's public-key.json. */
export function readPublicKey(path: string): Uint8Array {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch {
    throw new CliError(`cannot read ${path}`);
  }
  if (raw.length === 32) return new Uint8Array(raw);
  const text = raw.toString("utf8").trim();
  let key: Buffer | undefined;
  if (text.includes("BEGIN PUBLIC KEY")) {
    key = Buffer.from(text.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64").subarray(-32);
  } else if (text.startsWith("{")) {
    key = Buffer.from(String(JSON.parse(text).public_key_hex ?? ""), "hex");
  } else if (/^[0-9a-fA-F]{64}$/.test(text)) {
    key = Buffer.from(text, "hex");
  } else key = Buffer.from(text, "base64");
  if (key.length !== 32) throw new CliError(`${path}: not a 32-byte Ed25519 public key`);
  return new Uint8Array(key);
}

export const evidenceVerifyCommand: CliCommand = {
  name: "evidence verify",
  summary: "verify an evidence bundle offline (exit 0 when intact)",
  usage: `usage: custos evidence verify FILE.tar.gz [--public-key FILE] [--json]

Recomputes every leaf hash from the logged event bytes, checks the decoded JSON against them, every
inclusion proof against the last checkpoint, every consistency proof between checkpoints, every
checkpoint's Ed25519 signed note, every recording against the hash its event committed, the manifest's
signature and every file's SHA-256. --public-key pins the operator's key (PEM, hex, base64 or raw).
Exits 1 naming every failure. The bundle's own verify.py does the same with Python 3 alone.`,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { "public-key": "string", json: "boolean" });
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new CliError("needs one FILE.tar.gz", 2);
    let files: Map<string, Uint8Array>;
    try {
      files = readTarGz(readFileSync(file));
    } catch (err) {
      throw new CliError(`${file}: not a readable .tar.gz (${err instanceof Error ? err.message : err})`);
    }
    const trusted = typeof flags["public-key"] === "string" ? readPublicKey(flags["public-key"]) : undefined;
    const report = await verifyBundle(files, trusted);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return report.ok ? 0 : 1;
    }
    for (const f of report.failures) process.stdout.write(`FAIL  ${f.code}  ${f.where}: ${f.reason}\n`);
    const c = report.counts;
    process.stdout.write(
      `${report.ok ? "ok  " : "FAIL"}  ${c.events} events, ${c.checkpoints} checkpoints, ${c.consistency_proofs} consistency proofs, ${c.recordings} recordings, ${c.files} files\n`,
    );
    if (report.signer_public_key_hex) {
      const fp = hex(sha256(Buffer.from(report.signer_public_key_hex, "hex")));
      process.stdout.write(
        `signer key ${report.signer_public_key_hex} (sha256 ${fp})${trusted ? "" : " - NOT PINNED: compare it with the operator's published key, or pass --public-key"}\n`,
      );
    }
    return report.ok ? 0 : 1;
  },
};
