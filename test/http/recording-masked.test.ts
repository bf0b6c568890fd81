// What the audit store keeps of a masked identity's exchanges: the bytes the client received, masked, never
// the upstream's. A gateway serving only an agent, every format and transport, then every byte the gateway
// wrote to its data directory searched for the fixture's values (and the service credential's).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { FORMATS, leaks, type Reflector, startReflector } from "./reflect-upstream.ts";
import { type HttpTestGateway, startHttpGateway } from "./support.ts";

const TOKEN = "svc-rec-masked-token-77aa";

let issuer: OidcIssuer;
let up: Reflector;
let gw: HttpTestGateway;

beforeAll(async () => {
  issuer = await startOidcIssuer();
  up = await startReflector();
  gw = await startHttpGateway({
    issuer,
    env: { TOKEN },
    connections: [
      {
        type: "http",
        name: "api",
        target: `http://127.0.0.1:${up.port}`,
        allow_groups: ["agents"],
        inject: { bearer_env: "TOKEN" },
      },
    ],
  });
});

afterAll(async () => {
  await gw?.stop();
  await up?.stop();
  await issuer?.stop();
});

test("an agent's recorded responses hold no fixture value and no credential", async () => {
  const agent = await gw.token("agent-rec", ["agents"]);
  let served = 0;
  for (const format of Object.keys(FORMATS))
    for (const q of ["", "?t=chunked", "?enc=gzip&t=chunked"]) {
      const res = await fetch(`${gw.base}/c/api/data/${format}${q}`, {
        headers: { authorization: `Bearer ${agent}` },
      });
      await res.arrayBuffer();
      if (res.status === 200) served++;
    }
  for (const p of ["/c/api/echo", "/c/api/echotext", "/c/api/headers", "/c/api/escaped"]) {
    const res = await fetch(`${gw.base}${p}`, { headers: { authorization: `Bearer ${agent}` } });
    await res.arrayBuffer();
  }
  expect(served).toBe(Object.keys(FORMATS).length * 3);
  await gw.gw.recorder.durable();
  const store = gw.storeBytes();
  expect(store.length).toBeGreaterThan(0);
  expect(leaks(store)).toEqual({});
  expect(store.includes(Buffer.from(TOKEN))).toBe(false);
  expect(store.includes(Buffer.from(Buffer.from(TOKEN).toString("base64")))).toBe(false);
  // The masked bodies are there (so the search had something to read).
  expect(store.includes(Buffer.from("***-**-6789"))).toBe(true);
});
