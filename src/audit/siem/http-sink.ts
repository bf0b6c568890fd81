// HTTP sink: a batch per POST, acknowledged by a 2xx. Shapes: `json` (a JSON array of records, Bearer token
// and/or HMAC-SHA256 signature) and `splunk_hec` (HEC event envelopes, `Authorization: Splunk <token>`).
import { createHmac } from "node:crypto";
import { hostname } from "node:os";
import type { Secret } from "../../config/secret.ts";
import { type Delivery, positionOf, type Sink } from "./sink.ts";

export interface HttpSinkOptions {
  name: string;
  format: "ocsf" | "native";
  url: string;
  shape: "json" | "splunk_hec";
  token: Secret | null;
  hmacKey: Secret | null;
  ca: string | null;
  timeoutMs?: number;
}

export function httpSink(o: HttpSinkOptions): Sink {
  const host = hostname();
  return {
    name: o.name,
    format: o.format,
    async deliver(batch) {
      const body =
        o.shape === "splunk_hec"
          ? hecBody(batch, host, o.format)
          : JSON.stringify(batch.map((d) => d.record));
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (o.token)
        headers.authorization =
          o.shape === "splunk_hec" ? `Splunk ${o.token.reveal()}` : `Bearer ${o.token.reveal()}`;
      if (o.hmacKey) {
        const ts = String(Date.now());
        headers["x-custos-timestamp"] = ts;
        headers["x-custos-signature"] =
          `sha256=${createHmac("sha256", o.hmacKey.reveal()).update(`${ts}.${body}`).digest("hex")}`;
      }
      const res = await fetch(o.url, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
        ...(o.ca ? { tls: { ca: o.ca } } : {}),
      } as RequestInit);
      await res.body?.cancel();
      if (res.status < 200 || res.status > 299) throw new Error(`${o.url} answered ${res.status}`);
    },
    async close() {},
  };
}

/** Splunk HEC /services/collector: concatenated {time, host, source, sourcetype, event} objects. */
function hecBody(batch: Delivery[], host: string, format: string): string {
  return batch
    .map((d) => {
      const time = d.item.kind === "event" ? d.item.row.time : d.item.cp.time;
      return JSON.stringify({
        time: time / 1000,
        host,
        source: "custos",
        sourcetype: `custos:${format}`,
        fields: positionOf(d.item),
        event: d.record,
      });
    })
    .join("\n");
}
