// A light load driver (its own process, so its CPU stays out of the gateway's profile): `concurrency`
// keep-alive loops GET `url` for `seconds` (POST with a JSON body when BODY=<bytes> is set). Prints
// {requests, errors, rps} as JSON. Usage: bun bench/http/drive.ts <url> <concurrency> <seconds> [token]
const [url, conc = "8", secs = "10", token] = process.argv.slice(2);
if (!url) throw new Error("usage: drive.ts <url> <concurrency> <seconds> [token]");
const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
const size = Number(process.env.BODY ?? 0);
const body = size ? JSON.stringify({ note: "x".repeat(Math.max(0, size - 12)) }) : undefined;
if (body) headers["content-type"] = "application/json";
const init = { method: body ? "POST" : "GET", headers, body };
const until = performance.now() + Number(secs) * 1000;
let requests = 0;
let errors = 0;
const loop = async () => {
  while (performance.now() < until) {
    try {
      const r = await fetch(url, init);
      await r.arrayBuffer();
      if (r.status === 200) requests++;
      else errors++;
    } catch {
      errors++;
    }
  }
};
const t0 = performance.now();
await Promise.all(Array.from({ length: Number(conc) }, loop));
const elapsed = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ requests, errors, rps: requests / elapsed }));

export {};
