// A raw HTTP/1.1 client for the path corpus: fetch() normalises a URL (dot segments, backslashes) before
// it sends it, so attacks on the gateway's own normalisation need the request line written by hand.
import { connect } from "node:net";

export interface RawResponse {
  status: number;
  head: string;
  body: string;
}

export function rawRequest(
  port: number,
  target: string,
  headers: Record<string, string>,
  method = "GET",
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    sock.on("data", (d: Buffer) => chunks.push(d));
    sock.on("error", reject);
    sock.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      const head = split === -1 ? text : text.slice(0, split);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      resolve({ status: m ? Number(m[1]) : 0, head, body: split === -1 ? "" : text.slice(split + 4) });
    });
    const lines = [`${method} ${target} HTTP/1.1`, "Host: gateway", "Connection: close"];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    sock.write(`${lines.join("\r\n")}\r\n\r\n`);
    setTimeout(() => sock.destroy(), 5000);
  });
}
