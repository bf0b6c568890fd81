// The certificate and key the gateway's listeners serve: the configured files, or a self-signed
// certificate for localhost / 127.0.0.1 / ::1 created once in data_dir (cert and key in one 0600 file,
// so a concurrent first start can never pair one process's cert with another's key) and renewed when
// it nears expiry.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { generate } from "selfsigned";
import { readPrivateFile, replacePrivateFile, writePrivateFileOnce } from "../config/private-file.ts";
import { CustosError } from "../core/errors.ts";

export const SELF_SIGNED_FILE = "tls-self-signed.pem";
const VALIDITY_DAYS = 365;
const RENEW_BEFORE_MS = 30 * 86_400_000;

export interface TlsMaterial {
  cert: string;
  key: string;
  selfSigned: boolean;
  /** Certificate expiry, epoch ms. */
  notAfter: number;
  /** SHA-256 fingerprint of the certificate (AA:BB:...), for clients pinning a self-signed gateway. */
  fingerprint256: string;
}

export interface TlsMaterialOptions {
  certFile?: string | null;
  keyFile?: string | null;
  dataDir: string;
}

export async function loadOrCreateTlsMaterial(opts: TlsMaterialOptions): Promise<TlsMaterial> {
  if (opts.certFile || opts.keyFile) {
    if (!opts.certFile || !opts.keyFile) {
      throw new CustosError("config.invalid", "tls: cert_file and key_file go together");
    }
    return loadConfigured(opts.certFile, opts.keyFile);
  }
  return loadOrCreateSelfSigned(opts.dataDir);
}

function loadConfigured(certFile: string, keyFile: string): TlsMaterial {
  const cert = readText(certFile, "tls.cert_file");
  // Operators often share keys with a group (e.g. ssl-cert); everyone being able to read it is never right.
  const mode = statSync(keyFile, { throwIfNoEntry: false })?.mode ?? 0;
  if ((mode & 0o004) !== 0) {
    throw new CustosError(
      "config.invalid",
      `tls.key_file: ${keyFile} is readable by everyone (mode ${(mode & 0o777).toString(8)}); run: chmod o-r ${keyFile}`,
    );
  }
  const key = readText(keyFile, "tls.key_file");
  const material = inspectPair(
    cert,
    key,
    false,
    (problem) => new CustosError("config.invalid", `tls: ${problem}`),
  );
  if (material.notAfter <= Date.now()) {
    throw new CustosError(
      "config.invalid",
      `tls.cert_file: ${certFile} expired on ${new Date(material.notAfter).toISOString()}`,
    );
  }
  return material;
}

async function loadOrCreateSelfSigned(dataDir: string): Promise<TlsMaterial> {
  const path = join(dataDir, SELF_SIGNED_FILE);
  const existing = readPrivateFile(path);
  if (existing !== null) {
    const material = parseBundle(existing, path);
    if (material && material.notAfter - Date.now() > RENEW_BEFORE_MS) return material;
    // Unreadable or close to expiry: it is ours to replace.
    const renewed = await createBundle();
    replacePrivateFile(path, renewed);
    return parseBundle(renewed, path)!;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writePrivateFileOnce(path, await createBundle());
  const onDisk = readPrivateFile(path);
  const material = onDisk === null ? null : parseBundle(onDisk, path);
  if (!material) throw new CustosError("internal", `${path}: self-signed certificate could not be created`);
  return material;
}

async function createBundle(): Promise<string> {
  const now = new Date();
  const pems = await generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + VALIDITY_DAYS * 86_400_000),
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
          { type: 7, ip: "::1" },
        ],
      },
    ],
  });
  return `${pems.cert.trim()}\n${pems.private.trim()}\n`;
}

function parseBundle(text: string, path: string): TlsMaterial | null {
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0];
  const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(text)?.[0];
  if (!cert || !key) return null;
  try {
    return inspectPair(
      `${cert}\n`,
      `${key}\n`,
      true,
      (problem) => new CustosError("internal", `${path}: ${problem}`),
    );
  } catch {
    return null;
  }
}

function inspectPair(
  cert: string,
  key: string,
  selfSigned: boolean,
  fail: (problem: string) => Error,
): TlsMaterial {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw fail(`cert_file holds no usable PEM certificate (${(err as Error).message})`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw fail(`key_file holds no usable unencrypted PEM private key (${(err as Error).message})`);
  }
  if (!x509.checkPrivateKey(privateKey)) throw fail("key_file does not match the certificate in cert_file");
  return { cert, key, selfSigned, notAfter: Date.parse(x509.validTo), fingerprint256: x509.fingerprint256 };
}

function readText(path: string, key: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new CustosError(
      "config.invalid",
      `${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
}
