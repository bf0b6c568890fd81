// The floor for an HTTP relay written in Bun on this machine: Bun.serve → fetch to the upstream and the
// answer handed back, nothing parsed, decided or recorded. Its own process, so k6 drives it exactly as it
// drives direct and Custos (bench/http/run.ts). Usage: bun bench/http/bare-relay.ts <port> <upstream origin>
const [port, upstream] = [Number(process.argv[2]), process.argv[3]];
if (!port || !upstream) throw new Error("usage: bare-relay.ts <port> <upstream origin>");
Bun.serve({
  hostname: "127.0.0.1",
  port,
  fetch: (req) => {
    const url = req.url;
    // The path and query as sent, without parsing the URL: from the first "/" after "http://host:port".
    return fetch(upstream + url.slice(url.indexOf("/", 8)), { method: req.method, body: req.body });
  },
});
process.stdout.write("ready\n");

export {};
