import { describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { generate } from "selfsigned";
import { loadOrCreateTlsMaterial, SELF_SIGNED_FILE, type TlsMaterial } from "./tls-material.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "custos-tls-"));

/** Serves TLS with Bun.listen and connects with node:tls, verifying the certificate against itself as CA. */
async function handshake(material: TlsMaterial, host: string, servername?: string): Promise<string> {
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: material.cert, key: material.key },
    socket: {
      data(socket, data) {
        socket.write(`echo:${data}`);
      },
    },
  });
  try {
    return await new Promise<string>((resolve, reject) => {
      const client = connect(
        { host, port: server.port, ca: material.cert, servername, rejectUnauthorized: true },
        () => {
          client.write("ping");
        },
      );
      client.on("data", (d) => {
        resolve(d.toString());
        client.end();
      });
      client.on("error", reject);
      setTimeout(() => reject(new Error("handshake timed out")), 3_000).unref();
    });
  } finally {
    server.stop(true);
  }
}

describe("loadOrCreateTlsMaterial", () => {
  test("creates a self-signed certificate once (0600), reuses it, and clients can verify it", async () => {
    const dataDir = join(tmp(), "data");
    const a = await loadOrCreateTlsMaterial({ dataDir });
    expect(a.selfSigned).toBe(true);
    const path = join(dataDir, SELF_SIGNED_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const b = await loadOrCreateTlsMaterial({ dataDir });
    expect(b.cert).toBe(a.cert);
    expect(b.key).toBe(a.key);
    const x509 = new X509Certificate(a.cert);
    expect(x509.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    expect(a.notAfter - Date.now()).toBeGreaterThan(360 * 86_400_000);
    expect(a.fingerprint256).toBe(x509.fingerprint256);
    expect(await handshake(a, "127.0.0.1")).toBe("echo:ping");
    expect(await handshake(a, "127.0.0.1", "localhost")).toBe("echo:ping");
  });

  test("a client verifying another name refuses the self-signed certificate", async () => {
    const material = await loadOrCreateTlsMaterial({ dataDir: tmp() });
    const err = await handshake(material, "127.0.0.1", "db.example.com").catch((e) => e);
    expect(err.code).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
  });

  test("concurrent first starts agree on one certificate", async () => {
    const dataDir = tmp();
    const all = await Promise.all([1, 2, 3].map(() => loadOrCreateTlsMaterial({ dataDir })));
    expect(new Set(all.map((m) => m.fingerprint256)).size).toBe(1);
  });

  test("a self-signed certificate near expiry is renewed; a group-readable file is refused", async () => {
    const dataDir = tmp();
    const old = await generate([{ name: "commonName", value: "localhost" }], {
      keyType: "ec",
      algorithm: "sha256",
      notAfterDate: new Date(Date.now() + 86_400_000),
    });
    const path = join(dataDir, SELF_SIGNED_FILE);
    writeFileSync(path, `${old.cert}\n${old.private}\n`, { mode: 0o600 });
    const renewed = await loadOrCreateTlsMaterial({ dataDir });
    expect(renewed.notAfter - Date.now()).toBeGreaterThan(360 * 86_400_000);
    expect(readFileSync(path, "utf8")).toContain(renewed.cert.trim());
    chmodSync(path, 0o640);
    const err = await loadOrCreateTlsMaterial({ dataDir }).catch((e) => e);
    expect(err.code).toBe("config.invalid");
    expect(err.message).toContain("key file is readable by group or others (mode 640)");
  });

  test("configured files are served as they are", async () => {
    const dir = tmp();
    const pems = await generate([{ name: "commonName", value: "localhost" }], {
      keyType: "ec",
      algorithm: "sha256",
      extensions: [{ name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] }],
    });
    writeFileSync(join(dir, "cert.pem"), pems.cert);
    writeFileSync(join(dir, "key.pem"), pems.private, { mode: 0o640 });
    const material = await loadOrCreateTlsMaterial({
      certFile: join(dir, "cert.pem"),
      keyFile: join(dir, "key.pem"),
      dataDir: join(dir, "data"),
    });
    expect(material.selfSigned).toBe(false);
    expect(material.cert).toBe(pems.cert);
    expect(await handshake(material, "127.0.0.1")).toBe("echo:ping");
  });

  test("bad configured files get one clear error each", async () => {
    const dir = tmp();
    const [a, b] = await Promise.all([
      generate([{ name: "commonName", value: "a" }], { keyType: "ec", algorithm: "sha256" }),
      generate([{ name: "commonName", value: "b" }], { keyType: "ec", algorithm: "sha256" }),
    ]);
    const expired = await generate([{ name: "commonName", value: "old" }], {
      keyType: "ec",
      algorithm: "sha256",
      notBeforeDate: new Date(Date.now() - 10 * 86_400_000),
      notAfterDate: new Date(Date.now() - 86_400_000),
    });
    const files: Record<string, [string, number]> = {
      "a.crt": [a.cert, 0o644],
      "a.key": [a.private, 0o600],
      "b.key": [b.private, 0o600],
      "world.key": [a.private, 0o644],
      "junk.crt": ["not a cert", 0o644],
      "junk.key": ["not a key", 0o600],
      "old.crt": [expired.cert, 0o644],
      "old.key": [expired.private, 0o600],
    };
    for (const [name, [text, mode]] of Object.entries(files)) {
      writeFileSync(join(dir, name), text);
      chmodSync(join(dir, name), mode);
    }
    const load = (certFile: string | null, keyFile: string | null) =>
      loadOrCreateTlsMaterial({
        certFile: certFile && join(dir, certFile),
        keyFile: keyFile && join(dir, keyFile),
        dataDir: dir,
      }).catch((e) => e);
    const cases: [string | null, string | null, string][] = [
      ["a.crt", null, "tls: cert_file and key_file go together"],
      ["missing.crt", "a.key", `tls.cert_file: cannot read ${join(dir, "missing.crt")} (ENOENT)`],
      ["a.crt", "missing.key", `tls.key_file: cannot read ${join(dir, "missing.key")} (ENOENT)`],
      ["a.crt", "b.key", "tls: key_file does not match the certificate in cert_file"],
      [
        "a.crt",
        "world.key",
        `tls.key_file: ${join(dir, "world.key")} is readable by everyone (mode 644); run: chmod o-r ${join(dir, "world.key")}`,
      ],
      ["junk.crt", "a.key", "tls: cert_file holds no usable PEM certificate"],
      ["a.crt", "junk.key", "tls: key_file holds no usable unencrypted PEM private key"],
      ["old.crt", "old.key", `tls.cert_file: ${join(dir, "old.crt")} expired on `],
    ];
    for (const [cert, key, message] of cases) {
      const err = await load(cert, key);
      expect(err.code).toBe("config.invalid");
      expect(err.message).toStartWith(message);
    }
  });
});
