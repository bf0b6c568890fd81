// Upstreams written for the enforcement suites. `startReflector` is a node:http server (node does not
// normalise the request target, so `received` holds the raw path as the gateway sent it) that reports what
// it RECEIVED (method, raw path, headers, body) and renders one customer record, full of regulated values,
// in every body format the gateway must mask, over several transports (`?t=chunked` writes 7-byte pieces
// so values split across chunks, `?enc=gzip|deflate|br` compresses). `startWsUpstream` is a Bun WebSocket
// server that sends the record on open and reports every client message it received.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import type { Server as BunServer } from "bun";

/** Every value a masked client must never receive, by name. */
export const FIXTURE = {
  ssn: "123-45-6789",
  bareSsn: "078051120",
  email: "ada.lovelace@example.com",
  phone: "(212) 555-0187",
  barePhone: "2125550199",
  iban: "DE89370400440532013000",
  lowerIban: "gb82west12345698765432",
  card: "4111111111111111",
  account: "98765432100",
  dob: "1815-12-10",
} as const;

/** Harmless values beside them that must arrive unchanged. */
export const HARMLESS = { name: "Ada", total: "123456789", orderId: "2125550123", city: "London" } as const;

export const record = {
  id: 7,
  name: HARMLESS.name,
  socialSecurityNumber: FIXTURE.ssn,
  taxId: FIXTURE.bareSsn,
  "contact-email": FIXTURE.email,
  homePhone: FIXTURE.phone,
  mobilePhone: FIXTURE.barePhone,
  bankAccount: FIXTURE.account,
  iban: FIXTURE.iban,
  note: `pay to ${FIXTURE.lowerIban} with card ${FIXTURE.card}`,
  dateOfBirth: FIXTURE.dob,
  order_total: Number(HARMLESS.total),
  order_id: HARMLESS.orderId,
  city: HARMLESS.city,
};

const fields = Object.keys(record) as (keyof typeof record)[];
const csvCell = (v: unknown) => {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};
const xmlEscape = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;");

/** The record in each format: [content-type or null, body]. */
export const FORMATS: Record<string, [string | null, string]> = {
  json: ["application/json", JSON.stringify({ customers: [record] })],
  problem: ["application/problem+json", JSON.stringify({ title: "x", detail: record })],
  textjson: ["text/plain", JSON.stringify({ customers: [record] })],
  untyped: [null, JSON.stringify(record)],
  jsonp: ["application/javascript", `cb(${JSON.stringify(record)});`],
  text: [
    "text/plain; charset=utf-8",
    `customer ${record.name}: ssn ${FIXTURE.ssn}, taxId=${FIXTURE.bareSsn}, mail ${FIXTURE.email}, phone ${FIXTURE.phone}, mobilePhone: ${FIXTURE.barePhone}, iban ${FIXTURE.iban} / ${FIXTURE.lowerIban}, card ${FIXTURE.card}, bankAccount=${FIXTURE.account}, dateOfBirth=${FIXTURE.dob}, total ${HARMLESS.total}, order ${HARMLESS.orderId}\n`,
  ],
  html: [
    "text/html",
    `<html><body><h1>${record.name}</h1><p>order ${HARMLESS.orderId}</p><p>SSN ${FIXTURE.ssn}</p><p>${FIXTURE.email} ${FIXTURE.phone} ${FIXTURE.iban} ${FIXTURE.lowerIban} ${FIXTURE.card}</p><span data-taxid="${FIXTURE.bareSsn}">x</span><i>mobilePhone: ${FIXTURE.barePhone}</i><b>bankAccount=${FIXTURE.account}</b><u>dateOfBirth=${FIXTURE.dob}</u></body></html>`,
  ],
  csv: ["text/csv", `${fields.join(",")}\r\n${fields.map((f) => csvCell(record[f])).join(",")}\r\n`],
  semicolon: ["text/csv", `${fields.join(";")}\n${fields.map((f) => String(record[f])).join(";")}\n`],
  tsv: [
    "text/tab-separated-values",
    `${fields.join("\t")}\n${fields.map((f) => String(record[f])).join("\t")}\n`,
  ],
  form: [
    "application/x-www-form-urlencoded",
    new URLSearchParams(Object.entries(record).map(([k, v]) => [k, String(v)])).toString(),
  ],
  xml: [
    "application/xml",
    `<?xml version="1.0"?><customers><customer id="7" taxId="${FIXTURE.bareSsn}">${fields
      .filter((f) => f !== "taxId")
      .map((f) => `<${f}>${xmlEscape(String(record[f]))}</${f}>`)
      .join("")}</customer></customers>`,
  ],
  ndjson: ["application/x-ndjson", `${JSON.stringify(record)}\n${JSON.stringify({ ...record, id: 8 })}\n`],
  sse: [
    "text/event-stream",
    `event: customer\ndata: ${JSON.stringify(record)}\n\nevent: note\ndata: ssn ${FIXTURE.ssn} mobilePhone: ${FIXTURE.barePhone}\ndata: ${FIXTURE.email} ${FIXTURE.lowerIban}\n\n: comment ${FIXTURE.card}\n\n`,
  ],
};

export interface Received {
  method: string;
  /** The request target exactly as it arrived. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface Reflector {
  port: number;
  received: Received[];
  stop(): Promise<void>;
}

function compress(body: Buffer, enc: string | null): Buffer {
  if (enc === "gzip") return gzipSync(body);
  if (enc === "deflate") return deflateSync(body);
  if (enc === "br") return brotliCompressSync(body);
  return body;
}

async function readAll(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

export async function startReflector(): Promise<Reflector> {
  const received: Received[] = [];
  const server: Server = createServer(async (req, res) => {
    // An upload the gateway aborted (a method override found mid-stream) arrives truncated: not a request.
    const body = await readAll(req).catch(() => null);
    if (body === null) return res.destroy();
    received.push({ method: req.method!, url: req.url!, headers: { ...req.headers }, body });
    const url = new URL(req.url!, "http://upstream");
    const transport = url.searchParams.get("t");
    const enc = url.searchParams.get("enc");
    const send = (status: number, type: string | null, text: string, extra: Record<string, string> = {}) => {
      const bytes = compress(Buffer.from(text), enc);
      const headers: Record<string, string> = { ...extra };
      if (type) headers["content-type"] = type;
      if (enc) headers["content-encoding"] = enc;
      if (transport !== "chunked") headers["content-length"] = String(bytes.length);
      res.writeHead(status, headers);
      if (transport !== "chunked") return res.end(bytes);
      let at = 0;
      const tick = () => {
        if (at >= bytes.length) return res.end();
        res.write(bytes.subarray(at, at + 7));
        at += 7;
        setTimeout(tick, 1);
      };
      tick();
    };
    const seg = url.pathname.split("/").filter(Boolean);
    if (seg[0] === "data") {
      // `/data` with no format: what the client's Accept asks for (content negotiation).
      const accept = String(req.headers.accept ?? "");
      const fmt = seg[1] ?? (accept.includes("text/csv") ? "csv" : accept.includes("xml") ? "xml" : "json");
      const f = FORMATS[fmt];
      if (!f) return send(404, "text/plain", "no such format");
      const pad = Number(url.searchParams.get("pad") ?? 0);
      if (pad && (fmt === "json" || fmt === "textjson"))
        return send(200, f[0], JSON.stringify({ customers: [record], filler: "x".repeat(pad) }));
      return send(200, f[0], f[1]);
    }
    if (seg[0] === "headers")
      return send(200, "application/json", "{}", {
        "x-customer-ssn": FIXTURE.ssn,
        "x-debug": `mail=${FIXTURE.email}`,
        location: `/next?iban=${FIXTURE.iban}`,
        "set-cookie": `last=${FIXTURE.card}; Path=/`,
      });
    if (seg[0] === "escaped")
      // JSON as text/plain with escaped members and values and values nested under sensitive names.
      return send(
        200,
        "text/plain",
        `{"s\u0073n":"\u0031\u0032\u0033-45-6789","taxId":{"value":"${FIXTURE.bareSsn}"},"phones":{"mobile":["${FIXTURE.barePhone}"]},"name":"${record.name}"}`,
      );
    if (seg[0] === "utf16") {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-16le" });
      return res.end(Buffer.from(`ssn ${FIXTURE.ssn}`, "utf16le"));
    }
    if (seg[0] === "bom16") {
      res.writeHead(200, { "content-type": "text/plain" });
      return res.end(
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`ssn ${FIXTURE.ssn}`, "utf16le")]),
      );
    }
    if (seg[0] === "badjson") return send(200, "application/json", `{"ssn": "${FIXTURE.ssn}", oops`);
    if (seg[0] === "bin") return send(200, "application/octet-stream", `BIN ${FIXTURE.ssn}`);
    if (seg[0] === "png") return send(200, "image/png", `\x89PNG ${FIXTURE.ssn}`);
    if (seg[0] === "echo") {
      // What an echo or debug endpoint does: hand the request back, credentials included.
      const auth = String(req.headers.authorization ?? "");
      const key = String(req.headers["x-api-key"] ?? "");
      return send(
        200,
        "application/json",
        JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }),
        {
          "x-debug-authorization": auth,
          "x-debug-key": key,
          "x-debug-b64": Buffer.from(auth.replace(/^(Bearer|Basic) /, "")).toString("base64"),
          "set-cookie": `debug=${encodeURIComponent(auth || key)}; Path=/`,
        },
      );
    }
    if (seg[0] === "echotext") {
      const auth = String(req.headers.authorization ?? req.headers["x-api-key"] ?? "");
      const token = auth.replace(/^(Bearer|Basic) /, "");
      return send(
        200,
        "text/plain",
        `raw=${auth}\nb64=${Buffer.from(token).toString("base64")}\nurl=${encodeURIComponent(token)}\nreq=${req.url}\n`,
      );
    }
    return send(200, "application/json", JSON.stringify({ ok: true, path: url.pathname }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface WsUpstream {
  port: number;
  received: string[];
  server: BunServer<undefined>;
}

/** Sends the record (JSON and text) on open; `binary` sends bytes; echoes everything else. */
export function startWsUpstream(): WsUpstream {
  const received: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      return srv.upgrade(req) ? undefined : new Response("upgrade only", { status: 400 });
    },
    websocket: {
      open(ws) {
        ws.send(JSON.stringify(record));
        ws.send(`note: ssn ${FIXTURE.ssn}, mobilePhone: ${FIXTURE.barePhone}, ${FIXTURE.email}`);
      },
      message(ws, msg) {
        const text = typeof msg === "string" ? msg : new TextDecoder().decode(msg);
        received.push(text);
        if (text.includes("binary")) ws.send(new TextEncoder().encode(`bytes ${FIXTURE.ssn}`));
        else ws.send(`echo:${text}`);
      },
    },
  });
  return { port: server.port!, received, server };
}

/** How many times each fixture value occurs in `bytes`. */
export function leaks(
  bytes: string | Uint8Array,
  values: readonly string[] = Object.values(FIXTURE),
): Record<string, number> {
  const text = typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("latin1");
  const out: Record<string, number> = {};
  for (const v of values) {
    const n = text.split(v).length - 1;
    if (n > 0) out[v] = n;
  }
  return out;
}
