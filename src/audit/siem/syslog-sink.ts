// Syslog sink: RFC 5424 messages, octet-counted (RFC 5425 §4.3 over TLS; RFC 6587 §3.4.1 over plain TCP).
// Syslog has no acknowledgement, so each batch travels on its own connection which we half-close: the
// receiver closing its side after reading our FIN is the proof it read every message before it. A reset,
// a timeout or an error leaves the batch unacknowledged and it is sent again (at least once).

import { isIP, connect as netConnect, type Socket } from "node:net";
import { hostname as osHostname } from "node:os";
import { connect as tlsConnect } from "node:tls";
import { type Delivery, positionOf, type Sink } from "./sink.ts";

export interface SyslogOptions {
  name: string;
  format: "ocsf" | "native";
  host: string;
  port: number;
  transport: "tcp" | "tls";
  ca: string | null;
  hostname: string | null;
  timeoutMs?: number;
}

/** RFC 5424 §6.2.1: facility 13 "log audit"; severity 4 warning for refusals, 6 informational otherwise. */
const FACILITY_LOG_AUDIT = 13;
/** RFC 5612 documentation enterprise number, for the SD-ID until Custos has its own. */
const SD_ID = "custos@32473";
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

const sdEscape = (v: string) => v.replace(/["\\\]]/g, (c) => `\\${c}`);
const printable = (v: string, max: number) => v.replace(/[^!-~]/g, "_").slice(0, max) || "-";

export function syslogMessage(d: Delivery, host: string): Buffer {
  const { item } = d;
  const warn =
    item.kind === "event" &&
    (item.row.type === "auth.failure" || item.row.type === "access.denied" || item.data.action === "deny");
  const pri = FACILITY_LOG_AUDIT * 8 + (warn ? 4 : 6);
  const time = new Date(item.kind === "event" ? item.row.time : item.cp.time).toISOString();
  const msgId = printable(item.kind === "event" ? item.row.type : "checkpoint", 32);
  const pos = positionOf(item);
  const params = Object.entries(pos)
    .map(([k, v]) => `${k}="${sdEscape(String(v))}"`)
    .join(" ");
  const header = `<${pri}>1 ${time} ${printable(host, 255)} custos - ${msgId} [${SD_ID} ${params}] `;
  return Buffer.concat([Buffer.from(header), BOM, Buffer.from(JSON.stringify(d.record))]);
}

/** RFC 5425 §4.3 / RFC 6587 §3.4.1: MSG-LEN SP SYSLOG-MSG. */
export function octetCounted(msg: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${msg.length} `), msg]);
}

export function syslogSink(o: SyslogOptions): Sink {
  const host = o.hostname ?? osHostname();
  const timeout = o.timeoutMs ?? 15_000;
  return {
    name: o.name,
    format: o.format,
    async deliver(batch) {
      const payload = Buffer.concat(batch.map((d) => octetCounted(syslogMessage(d, host))));
      await sendAndConfirm(o, payload, timeout);
    },
    async close() {},
  };
}

function sendAndConfirm(o: SyslogOptions, payload: Buffer, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let socket: Socket;
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () => done(new Error(`syslog ${o.host}:${o.port}: no close after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onConnect = () => socket.end(payload);
    if (o.transport === "tls") {
      socket = tlsConnect(
        {
          host: o.host,
          port: o.port,
          ...(o.ca ? { ca: o.ca } : {}),
          // SNI takes host names only (RFC 6066 §3).
          ...(isIP(o.host) ? {} : { servername: o.host }),
          rejectUnauthorized: true,
        },
        onConnect,
      );
    } else {
      socket = netConnect({ host: o.host, port: o.port }, onConnect);
    }
    socket.on("error", (err) => done(err));
    // The receiver's FIN after ours: it read up to our end of stream.
    socket.on("end", () => done());
    socket.on("close", (hadError) =>
      done(hadError ? new Error("syslog connection closed with an error") : undefined),
    );
    socket.resume();
  });
}
