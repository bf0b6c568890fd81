import { afterAll, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { Secret } from "../../config/secret.ts";
import { httpSink } from "./http-sink.ts";
import type { Delivery } from "./sink.ts";

const seen: { headers: Headers; body: string }[] = [];
let status = 200;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    seen.push({ headers: req.headers, body: await req.text() });
    return new Response("", { status });
  },
});
afterAll(() => server.stop(true));

const delivery = (seq: number): Delivery => ({
  item: {
    kind: "event",
    logId: "gw",
    row: {
      logId: "gw",
      seq,
      time: 1500,
      type: "statement",
      sessionId: null,
      body: new Uint8Array(),
      leafHash: new Uint8Array(32),
    },
    data: {},
  },
  record: { seq },
});
const url = (p: string) => `http://127.0.0.1:${server.port}${p}`;

test("json: an array of records with a Bearer token and an HMAC over timestamp.body", async () => {
  const sink = httpSink({
    name: "j",
    format: "native",
    url: url("/x"),
    shape: "json",
    token: new Secret("tok"),
    hmacKey: new Secret("k"),
    ca: null,
  });
  await sink.deliver([delivery(1), delivery(2)]);
  const { headers, body } = seen.at(-1)!;
  expect(JSON.parse(body)).toEqual([{ seq: 1 }, { seq: 2 }]);
  expect(headers.get("authorization")).toBe("Bearer tok");
  const ts = headers.get("x-custos-timestamp")!;
  expect(headers.get("x-custos-signature")).toBe(
    `sha256=${createHmac("sha256", "k").update(`${ts}.${body}`).digest("hex")}`,
  );
});

test("splunk_hec: one envelope per record, seconds, the Splunk auth scheme", async () => {
  const sink = httpSink({
    name: "h",
    format: "ocsf",
    url: url("/services/collector"),
    shape: "splunk_hec",
    token: new Secret("hec"),
    hmacKey: null,
    ca: null,
  });
  await sink.deliver([delivery(3), delivery(4)]);
  const { headers, body } = seen.at(-1)!;
  expect(headers.get("authorization")).toBe("Splunk hec");
  expect(body.split("\n").map((l) => JSON.parse(l))).toEqual([
    {
      time: 1.5,
      host: expect.any(String),
      source: "custos",
      sourcetype: "custos:ocsf",
      fields: { log_id: "gw", seq: 3 },
      event: { seq: 3 },
    },
    {
      time: 1.5,
      host: expect.any(String),
      source: "custos",
      sourcetype: "custos:ocsf",
      fields: { log_id: "gw", seq: 4 },
      event: { seq: 4 },
    },
  ]);
});

test("anything but a 2xx is not a delivery", async () => {
  const sink = httpSink({
    name: "j",
    format: "native",
    url: url("/x"),
    shape: "json",
    token: null,
    hmacKey: null,
    ca: null,
  });
  status = 503;
  await expect(sink.deliver([delivery(5)])).rejects.toThrow("503");
  status = 200;
  await sink.deliver([delivery(5)]);
});
