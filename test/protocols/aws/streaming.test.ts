// Object bodies stream through the gateway with bounded memory and are re-signed correctly, in every
// payload mode real clients send: a hex payload hash, UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD
// (verified chunk by chunk in the caller's chain, re-signed in the gateway's; MinIO checks the chunks) and
// STREAMING-UNSIGNED-PAYLOAD-TRAILER. Judged by what MinIO stored, read directly with the gateway's key.
// A 100 MB upload and download through the gateway keep its memory flat.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  type AwsGateway,
  type AwsTargetServer,
  type Creds,
  mint,
  startAwsGateway,
  startMinio,
  startMoto,
} from "../../support/aws.ts";
import {
  getObject,
  type PayloadMode,
  patternStream,
  putObject,
  sha256OfStream,
} from "../../support/aws-client.ts";
import { type OidcIssuer, startOidcIssuer } from "../../support/oidc-issuer.ts";

let s3: AwsTargetServer;
let issuer: OidcIssuer;
let g: AwsGateway;
let human: Creds;
let gwBase: string;
const upstream = () => ({ id: s3.accessKeyId, secret: s3.secretAccessKey });

beforeAll(async () => {
  const moto = process.env.CUSTOS_S3_TARGET === "moto";
  issuer = await startOidcIssuer();
  s3 = await (moto ? startMoto() : startMinio());
  g = await startAwsGateway(issuer, { s3: { server: s3, services: ["s3"] } });
  gwBase = `http://127.0.0.1:${g.awsPort}`;
  human = await mint(g, "aws-s3", await g.token("dba@bank.example", ["dba"]));
  const { sign, amzDate, EMPTY_SHA256 } = await import("../../../src/net/sigv4.ts");
  const date = amzDate(Date.now());
  const headers = { host: new URL(s3.url).host, "x-amz-date": date, "x-amz-content-sha256": EMPTY_SHA256 };
  const s = sign({
    method: "PUT",
    canonicalUri: "/blobs",
    query: [],
    headers,
    payloadHash: EMPTY_SHA256,
    scope: { date: date.slice(0, 8), region: "us-east-1", service: "s3" },
    amzDate: date,
    accessKeyId: s3.accessKeyId,
    secret: s3.secretAccessKey,
  });
  const mk = await fetch(`${s3.url}/blobs`, {
    method: "PUT",
    headers: { ...headers, authorization: s.authorization },
  });
  expect(mk.status, await mk.text()).toBe(200);
}, 120_000);

afterAll(async () => {
  await g?.stop();
  await s3?.stop();
  await issuer?.stop();
});

const SIZE = 3 * 1024 * 1024 + 17;

describe("payload modes", () => {
  const modes: PayloadMode[] = ["hex", "unsigned", "chunked-signed", "chunked-unsigned-trailer"];
  for (const mode of modes) {
    test(`${mode}: the object MinIO stored is the bytes sent`, async () => {
      const put = await putObject(gwBase, human, "blobs", `m-${mode}`, SIZE, mode);
      expect(put.status, put.text).toBe(200);
      const want = await sha256OfStream(patternStream(SIZE, 64 * 1024));
      const got = await getObject(s3.url, upstream(), "blobs", `m-${mode}`);
      expect(got.status, got.text).toBe(200);
      expect(got.bytes).toBe(SIZE);
      expect(got.hex).toBe(want.hex);
    });
  }

  test("a chunk altered after signing aborts the upload: nothing is stored", async () => {
    const put = await putObject(gwBase, human, "blobs", "tampered", SIZE, "chunked-signed", {
      tamperChunk: 3,
    });
    expect(put.status).not.toBe(200);
    const got = await getObject(s3.url, upstream(), "blobs", "tampered");
    expect(got.status).toBe(404);
  });

  test("a body that does not match its signed hash is not stored", async () => {
    // Signed for SIZE bytes of the pattern, sent with one byte changed: the caller's hash check fails.
    const { sign, amzDate, sha256Hex } = await import("../../../src/net/sigv4.ts");
    const body = new Uint8Array(1000);
    const hash = sha256Hex(body);
    body[5] = 1;
    const date = amzDate(Date.now());
    const headers = { host: `127.0.0.1:${g.awsPort}`, "x-amz-date": date, "x-amz-content-sha256": hash };
    const s = sign({
      method: "PUT",
      canonicalUri: "/blobs/badhash",
      query: [],
      headers,
      payloadHash: hash,
      scope: { date: date.slice(0, 8), region: "us-east-1", service: "s3" },
      amzDate: date,
      accessKeyId: human.id,
      secret: human.secret,
    });
    const res = await fetch(`${gwBase}/blobs/badhash`, {
      method: "PUT",
      headers: { ...headers, authorization: s.authorization },
      body,
    }).catch(() => null);
    expect(res?.status ?? 0).not.toBe(200);
    expect((await getObject(s3.url, upstream(), "blobs", "badhash")).status).toBe(404);
  });
});

/** The client as its own process, so this process's memory is the gateway's alone. */
async function clientProcess(...args: string[]): Promise<Record<string, any>> {
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../../support/aws-client.ts"), ...args], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`aws-client ${args[0]}: ${err}`);
  return JSON.parse(out.trim().split("\n").pop()!);
}

describe("large objects", () => {
  const BIG = 100 * 1024 * 1024;

  test("a 100 MB upload and download through the gateway keep its memory flat", async () => {
    Bun.gc(true);
    const base = process.memoryUsage().rss;
    let peak = base;
    // Live memory, not garbage not yet collected: sampled after a collection.
    const sampler = setInterval(() => {
      Bun.gc(false);
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    const creds = [human.id, human.secret];
    try {
      const put = await clientProcess(
        "put",
        gwBase,
        ...creds,
        "blobs",
        "big",
        String(BIG),
        "chunked-signed",
        String(256 * 1024),
      );
      expect(put.status, put.text).toBe(200);
      const got = await clientProcess("get", gwBase, ...creds, "blobs", "big");
      expect(got.status, got.text).toBe(200);
      expect(got.bytes).toBe(BIG);
      expect(got.hex).toBe((await sha256OfStream(patternStream(BIG, 256 * 1024))).hex);
      console.log(
        `100 MB: upload ${put.ms} ms, download ${got.ms} ms; gateway rss +${Math.round((peak - base) / 2 ** 20)} MiB`,
      );
    } finally {
      clearInterval(sampler);
    }
    // Holding the object would add 100 MB; the gateway holds one chunk per stream. What RSS adds besides is
    // the collector's and the allocator's slack over 200 MB relayed: 35-51 MiB measured here, with or without
    // the GC pacer (bench/RESULTS.md, issue 23 fifth pass), so the bound sits between that and the object.
    expect(peak - base).toBeLessThan(72 * 1024 * 1024);
  }, 240_000);
});
