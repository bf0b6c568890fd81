// Every byte a masked client receives, per content type and transport, counted for the fixture's values
// (reflect-upstream.ts): JSON (camelCase, kebab-case members), JSON served as text/plain or untyped,
// JSONP, plain text, HTML, CSV chosen by Accept, TSV, forms, XML, NDJSON, Server-Sent Events; each plain,
// chunked in 7-byte pieces (values split across chunks), gzip, deflate and brotli. Binary types are
// refused for agents unless listed. Humans receive the values (so the judge can see them), and harmless
// numbers beside the regulated ones arrive unchanged for agents.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { FIXTURE, FORMATS, HARMLESS, leaks, type Reflector, startReflector } from "./reflect-upstream.ts";
import { type HttpTestGateway, startHttpGateway } from "./support.ts";

let issuer: OidcIssuer;
let up: Reflector;
let gw: HttpTestGateway;
let agent: string;
let human: string;

beforeAll(async () => {
  issuer = await startOidcIssuer();
  up = await startReflector();
  const common = { type: "http", target: `http://127.0.0.1:${up.port}`, allow_groups: ["agents", "dba"] };
  gw = await startHttpGateway({
    issuer,
    connections: [
      { ...common, name: "api" },
      { ...common, name: "images", unmasked_types: ["image/*"] },
      { ...common, name: "tight", limits: { mask_body: "2KiB" } },
    ],
  });
  agent = await gw.token("agent-5", ["agents"]);
  human = await gw.token("bob", ["dba"]);
});

afterAll(async () => {
  await gw?.stop();
  await up?.stop();
  await issuer?.stop();
});

/** Status line, headers and body as one text: every byte the client received. */
async function everything(path: string, token: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.base}${path}`, {
    headers: { authorization: `Bearer ${token}`, "accept-encoding": "identity", ...headers },
    decompress: false,
  } as RequestInit);
  const body = Buffer.from(await res.arrayBuffer());
  const head = [...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    text: `${res.status}\n${head}\n\n${body.toString("latin1")}`,
    body,
  };
}

const formats = Object.keys(FORMATS);
const transports = ["plain", "chunked", "gzip", "deflate", "br"];
const cases = formats.flatMap((f) => transports.map((t) => [f, t] as const));
const query = (t: string) => (t === "plain" ? "" : t === "chunked" ? "?t=chunked" : `?enc=${t}&t=chunked`);

describe("masked identities", () => {
  test.each(cases)("%s over %s: no fixture value in any byte", async (format, transport) => {
    const r = await everything(`/c/api/data/${format}${query(transport)}`, agent);
    expect(r.status).toBe(200);
    expect(leaks(r.text)).toEqual({});
    // Masked, not emptied: harmless values beside the regulated ones arrive.
    expect(r.text).toContain(HARMLESS.name);
    if (format !== "sse") expect(r.text).toContain(HARMLESS.orderId);
    if (format !== "sse" && format !== "text" && format !== "html") expect(r.text).toContain(HARMLESS.total);
  });

  test("CSV chosen by the client's Accept is masked like any CSV", async () => {
    for (const accept of ["text/csv", "application/xml"]) {
      const r = await everything("/c/api/data", agent, { accept });
      expect(r.status).toBe(200);
      expect(r.type).toContain(accept === "text/csv" ? "text/csv" : "xml");
      expect(leaks(r.text)).toEqual({});
    }
  });

  test("JSON masks by normalised member name: camelCase, kebab-case, prefixes", async () => {
    const r = await everything("/c/api/data/json", agent);
    const c = (JSON.parse(r.body.toString()) as { customers: Record<string, unknown>[] }).customers[0]!;
    expect(c.socialSecurityNumber).toBe("***-**-6789");
    expect(c.taxId).toBe("*****1120");
    expect(c["contact-email"]).not.toBe(FIXTURE.email);
    expect(c.mobilePhone).not.toBe(FIXTURE.barePhone);
    expect(c.bankAccount).toBe("*******2100");
    expect(c.dateOfBirth).toBe("[REDACTED]");
    expect(c.order_total).toBe(Number(HARMLESS.total));
    expect(c.order_id).toBe(HARMLESS.orderId);
    expect(c.city).toBe(HARMLESS.city);
  });

  test("an event stream is masked event by event, and events still arrive as they are sent", async () => {
    const res = await fetch(`${gw.base}/c/api/data/sse?t=chunked`, {
      headers: { authorization: `Bearer ${agent}` },
    });
    const text = await res.text();
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(leaks(text)).toEqual({});
    expect(text).toContain("event: customer\ndata: {");
    expect(text).toContain("event: note");
  });

  test("binary and unknown types are refused, unless the connection lists them (recorded)", async () => {
    up.received.length = 0;
    const bin = await everything("/c/api/bin", agent);
    expect(bin.status).toBe(502);
    expect(leaks(bin.text)).toEqual({});
    expect(up.received).toHaveLength(1);
    const png = await everything("/c/api/png", agent);
    expect(png.status).toBe(502);
    const listed = await everything("/c/images/png", agent);
    expect(listed.status).toBe(200);
    expect(listed.type).toBe("image/png");
    await gw.gw.recorder.durable();
    expect(gw.storeBytes().includes(Buffer.from("unmasked_type"))).toBe(true);
  });

  test("a body past the masking bound is refused, never relayed raw", async () => {
    for (const t of ["", "&t=chunked", "&enc=gzip"]) {
      const r = await everything(`/c/tight/data/json?pad=4096${t}`, agent);
      expect(r.status).toBe(502);
      expect(leaks(r.text)).toEqual({});
    }
    // Within the bound, the same connection masks.
    const ok = await everything("/c/tight/data/json", agent);
    expect([ok.status, leaks(ok.text)]).toEqual([200, {}]);
  });

  test("response headers are masked too: by name and by detectors, cookies and redirects included", async () => {
    const r = await everything("/c/api/headers", agent);
    expect(r.status).toBe(200);
    expect(leaks(r.text)).toEqual({});
    const human_ = await everything("/c/api/headers", human);
    expect(leaks(human_.text)[FIXTURE.ssn]).toBe(1);
  });

  test("JSON served as text is masked as JSON: escaped names and values, nested under sensitive names", async () => {
    for (const t of ["", "?t=chunked", "?enc=gzip"]) {
      const r = await everything(`/c/api/escaped${t}`, agent);
      expect(r.status).toBe(200);
      const parsed = JSON.parse(r.body.toString()) as Record<string, unknown>;
      expect(leaks(JSON.stringify(parsed))).toEqual({});
      expect(leaks(r.text)).toEqual({});
      expect(parsed.name).toBe(HARMLESS.name);
    }
  });

  test("text in a charset the detectors cannot read is refused", async () => {
    for (const p of ["/c/api/utf16", "/c/api/bom16"]) {
      const r = await everything(p, agent);
      expect(r.status).toBe(502);
      expect(r.body.includes(Buffer.from(FIXTURE.ssn, "utf16le"))).toBe(false);
    }
  });

  test("a body that does not parse as its declared type is refused", async () => {
    const r = await everything("/c/api/badjson", agent);
    expect(r.status).toBe(502);
    expect(leaks(r.text)).toEqual({});
  });
});

describe("humans", () => {
  test.each(formats)("%s arrives whole", async (format) => {
    const r = await everything(`/c/api/data/${format}`, human);
    expect(r.status).toBe(200);
    expect(Object.keys(leaks(r.text)).length).toBeGreaterThan(3);
  });

  test("binary types and compressed bodies pass to humans unchanged", async () => {
    const bin = await everything("/c/api/bin", human);
    expect(bin.status).toBe(200);
    expect(bin.text).toContain(FIXTURE.ssn);
    const gz = await everything("/c/api/data/json?enc=gzip", human);
    expect(gz.status).toBe(200);
    expect(gz.body[0]).toBe(0x1f);
  });
});
