import { describe, expect, test } from "bun:test";
import { publicBase } from "./public-url.ts";

const at = (host: string, port = 8080, publicUrl: string | null = null) => ({
  http: { host, port },
  publicUrl,
});

describe("publicBase", () => {
  test("listen.public_url wins over any listen address, TLS or not", () => {
    for (const host of ["0.0.0.0", "10.1.2.3", "::"]) {
      expect(publicBase(at(host, 8080, "https://custos.bank.example"), { tls: false })).toEqual({
        url: "https://custos.bank.example",
        warning: null,
      });
    }
    expect(publicBase(at("0.0.0.0", 8080, "http://custos.lan:9000/gw"), { tls: true }).url).toBe(
      "http://custos.lan:9000/gw",
    );
  });

  test("a specific listen address is kept, IPv6 in brackets", () => {
    expect(publicBase(at("127.0.0.1", 8080), { tls: false })).toEqual({
      url: "http://127.0.0.1:8080",
      warning: null,
    });
    expect(publicBase(at("custos.internal", 9090), { tls: false }).url).toBe("http://custos.internal:9090");
    expect(publicBase(at("fd00::7", 8080), { tls: false }).url).toBe("http://[fd00::7]:8080");
    expect(publicBase(at("::1", 8080), { tls: false }).url).toBe("http://[::1]:8080");
  });

  test("a wildcard becomes localhost with a warning that names listen.public_url", () => {
    for (const host of ["0.0.0.0", "::", "0:0:0:0:0:0:0:0", "::0", ""]) {
      const base = publicBase(at(host, 8080), { tls: false });
      expect(base.url).toBe("http://localhost:8080");
      expect(base.warning).toContain("set listen.public_url");
      expect(base.warning).toContain(`"${host}"`);
    }
  });

  test("a listener with TLS derives https", () => {
    expect(publicBase(at("10.1.2.3", 8443), { tls: true }).url).toBe("https://10.1.2.3:8443");
    expect(publicBase(at("0.0.0.0", 8443), { tls: true }).url).toBe("https://localhost:8443");
  });
});
