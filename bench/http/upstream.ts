// The local upstream service for the HTTP benchmark: a small JSON answer, as an internal API would give.
const port = Number(process.argv[2] ?? 19101);
const body = JSON.stringify({ id: 42, status: "paid", amount: 1250, currency: "USD", items: [1, 2, 3] });
Bun.serve({
  hostname: "127.0.0.1",
  port,
  fetch: () => new Response(body, { headers: { "content-type": "application/json" } }),
});
process.stdout.write("ready\n");
