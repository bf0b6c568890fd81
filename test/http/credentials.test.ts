// The injected credential never comes back: upstreams that reflect it (an echo endpoint returning the
// request's headers, debug response headers, a cookie, text with its base64 and URL-encoded forms, a
// compressed or chunked body) are read by a human and an agent, and every byte the client received and
// every byte of the audit store is searched for each form of each kind of credential.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type Reflector, startReflector } from "./reflect-upstream.ts";
import { type HttpTestGateway, startHttpGateway } from "./support.ts";

const TOKEN = "svc-bearer/Reflect+Token=9";
const KEY = "svc-key-ref-51be77";
const USER = "svc";
const PW = "pw-reflected-c0ffee";

let issuer: OidcIssuer;
let up: Reflector;
let gw: HttpTestGateway;
let agent: string;
let human: string;

function forms(secret: string): string[] {
  const b64 = Buffer.from(secret).toString("base64");
  return [
    secret,
    b64,
    b64.replace(/=+$/, ""),
    Buffer.from(secret).toString("base64url"),
    encodeURIComponent(secret),
  ];
}

const SECRETS = [...forms(TOKEN), ...forms(KEY), ...forms(PW), ...forms(`${USER}:${PW}`)];

beforeAll(async () => {
  issuer = await startOidcIssuer();
  up = await startReflector();
  const common = { type: "http", target: `http://127.0.0.1:${up.port}`, allow_groups: ["agents", "dba"] };
  gw = await startHttpGateway({
    issuer,
    env: { TOKEN, KEY, PW },
    connections: [
      { ...common, name: "bearer", inject: { bearer_env: "TOKEN" } },
      { ...common, name: "header", inject: { header: "X-Api-Key", value_env: "KEY" } },
      { ...common, name: "basic", inject: { basic: { user: USER, password_env: "PW" } } },
      { ...common, name: "query", inject: { query: "api_key", value_env: "KEY" } },
    ],
  });
  agent = await gw.token("agent-3", ["agents"]);
  human = await gw.token("carol", ["dba"]);
});

afterAll(async () => {
  await gw?.stop();
  await up?.stop();
  await issuer?.stop();
});

const found = (text: string) => SECRETS.filter((s) => text.includes(s));

async function received(path: string, token: string, encoding = "identity") {
  const res = await fetch(`${gw.base}${path}`, {
    headers: { authorization: `Bearer ${token}`, "accept-encoding": encoding },
    decompress: false,
  } as RequestInit);
  const body = Buffer.from(await res.arrayBuffer());
  const head = [...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
  const setCookies = res.headers.getSetCookie().join("\n");
  return { status: res.status, text: `${head}\n${setCookies}\n\n${body.toString("latin1")}`, res };
}

describe("reflected credentials", () => {
  const cases: [string, string, string][] = [];
  for (const conn of ["bearer", "header", "basic", "query"])
    for (const path of [
      "/echo",
      "/echo?t=chunked",
      "/echotext",
      "/echotext?t=chunked",
      "/echo?enc=gzip",
      "/echotext?enc=br&t=chunked",
    ])
      for (const who of ["human", "agent"]) cases.push([conn, path, who]);

  test.each(cases)("%s %s as %s: no form of the credential in any byte", async (conn, path, who) => {
    up.received.length = 0;
    const r = await received(`/c/${conn}${path}`, who === "human" ? human : agent, "gzip, br");
    expect(r.status).toBe(200);
    // The upstream did get the credential (so it had something to reflect) ...
    expect(found(JSON.stringify(up.received[0]!)).length).toBeGreaterThan(0);
    // ... and the client got none of it.
    expect(found(r.text)).toEqual([]);
    expect(r.text).toContain("[REDACTED]");
  });

  test("the recording holds no form of any credential", async () => {
    await gw.gw.recorder.durable();
    const store = gw.storeBytes().toString("latin1");
    expect(store.length).toBeGreaterThan(0);
    expect(found(store)).toEqual([]);
    expect(store).toContain("[REDACTED]");
  });

  test("ordinary responses are untouched", async () => {
    const again = await fetch(`${gw.base}/c/bearer/orders`, {
      headers: { authorization: `Bearer ${human}` },
    });
    expect(await again.json()).toEqual({ ok: true, path: "/orders" });
  });
});
