// The floor a relay written in Bun can reach on this machine: bytes in, bytes out, no parsing, no policy,
// no recording. bench/run measures it beside Custos so the report separates what the gateway's work costs
// from what any user-space hop in front of PostgreSQL costs here.
// Usage: bun bench/support/bare-relay.ts <listen port> <postgres port>
import type { Socket } from "bun";

interface Side {
  peer: Socket<Side> | null;
  /** Bytes the peer has not taken yet (Bun's write() takes what the kernel accepts). */
  queue: Uint8Array[];
  early: Uint8Array[];
}

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
if (!listenPort || !upstreamPort) throw new Error("usage: bare-relay.ts <listen port> <postgres port>");

function send(to: Socket<Side>, bytes: Uint8Array): void {
  if (to.data.queue.length) {
    to.data.queue.push(bytes);
    return;
  }
  const n = to.write(bytes);
  if (n < bytes.length) to.data.queue.push(bytes.subarray(Math.max(n, 0)));
}

function drain(s: Socket<Side>): void {
  while (s.data.queue.length) {
    const head = s.data.queue[0]!;
    const n = s.write(head);
    if (n < head.length) {
      s.data.queue[0] = head.subarray(Math.max(n, 0));
      return;
    }
    s.data.queue.shift();
  }
}

const upstreamHandlers = {
  data(s: Socket<Side>, chunk: Uint8Array) {
    if (s.data.peer) send(s.data.peer, chunk);
  },
  drain,
  close(s: Socket<Side>) {
    s.data.peer?.end();
  },
  error(s: Socket<Side>) {
    s.data.peer?.end();
  },
};

Bun.listen<Side>({
  hostname: "127.0.0.1",
  port: listenPort,
  socket: {
    async open(client) {
      client.data = { peer: null, queue: [], early: [] };
      client.setNoDelay(true);
      try {
        const upstream = await Bun.connect<Side>({
          hostname: "127.0.0.1",
          port: upstreamPort,
          socket: upstreamHandlers,
          data: { peer: client, queue: [], early: [] },
        });
        upstream.setNoDelay(true);
        client.data.peer = upstream;
        for (const b of client.data.early) send(upstream, b);
        client.data.early = [];
      } catch {
        client.end();
      }
    },
    data(client, chunk) {
      if (client.data.peer) send(client.data.peer, chunk);
      else client.data.early.push(chunk.slice());
    },
    drain,
    close(client) {
      client.data.peer?.end();
    },
    error(client) {
      client.data.peer?.end();
    },
  },
});
console.log(`bare relay listening on ${listenPort}`);
