import { expect, test } from "bun:test";
import { createServer } from "node:net";
import type { EventRow } from "../store.ts";
import type { Delivery } from "./sink.ts";
import { octetCounted, syslogMessage, syslogSink } from "./syslog-sink.ts";

const row = (over: Partial<EventRow> = {}): EventRow => ({
  logId: "gw-1",
  seq: 41,
  time: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
  type: "statement",
  sessionId: "s1",
  body: new Uint8Array(),
  leafHash: new Uint8Array(32),
  ...over,
});
const delivery = (data: Record<string, unknown>, r = row()): Delivery => ({
  item: { kind: "event", logId: r.logId, row: r, data },
  record: { data, ünïcode: "é" },
});

test("an RFC 5424 message: PRI (log audit), version, RFC 3339 time, MSGID, SD with the position, BOM + JSON", () => {
  const msg = syslogMessage(delivery({ action: "allow" }), "gw host");
  const text = msg.toString("utf8");
  expect(text).toStartWith(
    '<110>1 2026-01-02T03:04:05.678Z gw_host custos - statement [custos@32473 log_id="gw-1" seq="41"] \uFEFF{',
  );
  expect(JSON.parse(text.slice(text.indexOf("\uFEFF") + 1))).toEqual({
    data: { action: "allow" },
    ünïcode: "é",
  });
  // Denials and refusals are warnings (13 * 8 + 4).
  expect(syslogMessage(delivery({ action: "deny" }), "h").toString()).toStartWith("<108>1 ");
  expect(syslogMessage(delivery({}, row({ type: "auth.failure" })), "h").toString()).toStartWith("<108>1 ");
});

test("SD-PARAM values escape '\"', '\\\\' and ']' (RFC 5424 §6.3.3)", () => {
  const text = syslogMessage(delivery({}, row({ logId: 'a"b]c\\d' })), "h").toString();
  expect(text).toContain('log_id="a\\"b\\]c\\\\d"');
});

test("octet counting prefixes the byte length, not the character count", () => {
  const msg = Buffer.from("<110>1 é");
  expect(octetCounted(msg).toString()).toBe(`${msg.length} <110>1 é`);
});

test("a batch counts as delivered only when the receiver closes after our end of stream", async () => {
  const got: Buffer[] = [];
  let mode: "read-then-close" | "reset" = "read-then-close";
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    if (mode === "reset") {
      sock.resetAndDestroy();
      return;
    }
    sock.on("data", (d) => got.push(Buffer.from(d)));
    sock.on("end", () => sock.end());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const sink = syslogSink({
    name: "t",
    format: "native",
    host: "127.0.0.1",
    port,
    transport: "tcp",
    ca: null,
    hostname: "h",
    timeoutMs: 2000,
  });
  await sink.deliver([delivery({ a: 1 }), delivery({ b: 2 })]);
  const text = Buffer.concat(got).toString();
  expect(text.match(/^\d+ <110>1 /)).not.toBeNull();
  expect(text.split("<110>1").length - 1).toBe(2);
  mode = "reset";
  await expect(sink.deliver([delivery({ c: 3 })])).rejects.toThrow();
  server.close();
  await expect(sink.deliver([delivery({ d: 4 })])).rejects.toThrow();
});
