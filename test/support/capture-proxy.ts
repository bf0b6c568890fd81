// A TCP proxy in front of the gateway that keeps every byte sent to the client, so tests can scan what a
// real client (psql, postgres.js) received for secrets that must never leave the gateway.
import { freePort } from "./free-port.ts";

export async function captureProxy(target: number) {
  const port = await freePort();
  const toClient: Uint8Array[] = [];
  type Pair = {
    client: import("bun").Socket<Pair>;
    upstream?: import("bun").Socket<unknown>;
    early: Uint8Array[];
  };
  const server = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(client) {
        const pair: Pair = { client, early: [] };
        client.data = pair;
        void Bun.connect({
          hostname: "127.0.0.1",
          port: target,
          socket: {
            open(up) {
              pair.upstream = up;
              for (const b of pair.early) up.write(b);
            },
            data(_up, chunk) {
              toClient.push(new Uint8Array(chunk));
              client.write(chunk);
            },
            close() {
              client.end();
            },
          },
        });
      },
      data(client, chunk) {
        if (client.data.upstream) client.data.upstream.write(chunk);
        else client.data.early.push(new Uint8Array(chunk));
      },
      close(client) {
        client.data.upstream?.end();
      },
    },
  });
  return { port, bytes: () => Buffer.concat(toClient), stop: () => server.stop(true) };
}
