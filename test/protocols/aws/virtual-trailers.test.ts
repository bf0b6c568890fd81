// S3 virtual-hosted addressing (`<bucket>.<virtual_host_base>`) and signed trailers against MinIO.
// Virtual hosts: the AWS CLI with addressing_style = virtual, reaching the gateway through an HTTP proxy
// (a byte relay) so `<bucket>.s3.custos.test` needs no DNS; the bucket comes from the Host header it
// signed. Trailers: STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER bodies verified chunk by chunk and trailer
// by signature, re-signed in the gateway's chain (MinIO checks both and the CRC32), and the
// STREAMING-UNSIGNED-PAYLOAD-TRAILER look-alike. Judged by MinIO's own state (object present, its hash).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AwsDeps,
  type AwsGateway,
  type AwsTargetServer,
  awsDeps,
  awsProfile,
  directEnv,
  mint,
  run,
  startAwsGateway,
  startMinio,
  tapProxy,
} from "../../support/aws.ts";
import { getObject, patternStream, putObject, sha256OfStream } from "../../support/aws-client.ts";
import { type OidcIssuer, startOidcIssuer } from "../../support/oidc-issuer.ts";

setDefaultTimeout(180_000);
let deps: AwsDeps;
let minio: AwsTargetServer;
let issuer: OidcIssuer;
let g: AwsGateway;
let proxy: Awaited<ReturnType<typeof tapProxy>>;
const work = mkdtempSync(join(tmpdir(), "custos-vhost-"));
const BASE = "s3.custos.test";
const SSN = "078-05-1120";

const direct = () => directEnv(minio);
const aws = (env: Record<string, string>, ...args: string[]) => run([deps.AWS_CLI, ...args], env);

async function virtualEnv(subject: string, groups: string[]) {
  const env = awsProfile(g, "aws-s3", await g.token(subject, groups), {
    endpoint: `http://${BASE}:${g.awsPort}`,
    extra: "s3 =\n    addressing_style = virtual\n",
  });
  // The proxy relays bytes to the gateway's listen.aws; the Host header stays <bucket>.s3.custos.test.
  return {
    ...env,
    HTTP_PROXY: `http://127.0.0.1:${proxy.port}`,
    http_proxy: `http://127.0.0.1:${proxy.port}`,
    NO_PROXY: "127.0.0.1",
    no_proxy: "127.0.0.1",
  };
}

beforeAll(async () => {
  [deps, issuer] = await Promise.all([awsDeps("minio", "python"), startOidcIssuer()]);
  minio = await startMinio();
  g = await startAwsGateway(issuer, {
    s3: { server: minio, services: ["s3"], extra: { virtual_host_base: BASE } },
    other: { server: minio, services: ["s3"] },
  });
  proxy = await tapProxy(g.awsPort);
  const note = join(work, "note.txt");
  writeFileSync(note, `vhost note\nssn ${SSN}\ncity Arlington\n`);
  for (const args of [
    ["s3", "mb", "s3://vhosted"],
    ["s3", "mb", "s3://trailers"],
    ["s3", "cp", note, "s3://vhosted/note.txt", "--content-type", "text/plain"],
  ]) {
    const r = await aws(direct(), ...args);
    expect(r.code, r.stderr).toBe(0);
  }
}, 600_000);

afterAll(async () => {
  proxy?.stop();
  await g?.stop();
  await minio?.stop();
  await issuer?.stop();
});

describe("virtual-hosted buckets", () => {
  test("the AWS CLI addresses the bucket by host: list, masked read, a human's upload", async () => {
    const agent = await virtualEnv("agent-7", ["agents"]);
    const ls = await aws(agent, "s3", "ls", "s3://vhosted/");
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain("note.txt");
    // The CLI really sent the bucket in the Host header.
    expect(proxy.sent().toString("latin1")).toMatch(/\r\nhost: vhosted\.s3\.custos\.test:\d+\r\n/i);
    const get = await aws(agent, "s3", "cp", "s3://vhosted/note.txt", "-");
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toContain("Arlington");
    expect(get.stdout + get.stderr).not.toContain(SSN);
    const human = await virtualEnv("dba@bank.example", ["dba"]);
    const f = join(work, "up.txt");
    writeFileSync(f, "virtual upload\n");
    const put = await aws(human, "s3", "cp", f, "s3://vhosted/sub/up.txt", "--content-type", "text/plain");
    expect(put.code, put.stderr).toBe(0);
    const there = await aws(direct(), "s3", "cp", "s3://vhosted/sub/up.txt", "-");
    expect(there.stdout).toBe("virtual upload\n");
  });

  test("an agent's DeleteBucket by host is denied; another connection's credential at this base is refused", async () => {
    const agent = await virtualEnv("agent-7", ["agents"]);
    const rb = await aws(agent, "s3api", "delete-bucket", "--bucket", "vhosted");
    expect(rb.code).not.toBe(0);
    expect(rb.stderr).toContain("AccessDenied");
    const other = {
      ...(await virtualEnv("dba@bank.example", ["dba"])),
      ...awsProfile(g, "aws-other", await g.token("dba@bank.example", ["dba"]), {
        endpoint: `http://${BASE}:${g.awsPort}`,
        extra: "s3 =\n    addressing_style = virtual\n",
      }),
    };
    const f = join(work, "cross.txt");
    writeFileSync(f, "must not land\n");
    const put = await aws(other, "s3", "cp", f, "s3://vhosted/cross.txt");
    expect(put.code).not.toBe(0);
    expect(put.stderr).toContain("AccessDenied");
    const head = await aws(direct(), "s3api", "head-object", "--bucket", "vhosted", "--key", "cross.txt");
    expect(head.code).not.toBe(0);
    const still = await aws(direct(), "s3api", "head-bucket", "--bucket", "vhosted");
    expect(still.code, still.stderr).toBe(0);
  });
});

describe("signed trailers", () => {
  const size = 300 * 1024 + 17;
  const expected = async () => (await sha256OfStream(patternStream(size, 64 * 1024))).hex;

  test("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER lands whole (MinIO checks the re-signed chain and CRC32)", async () => {
    const creds = await mint(g, "aws-s3", await g.token("dba@bank.example", ["dba"]));
    const base = `http://127.0.0.1:${g.awsPort}`;
    const put = await putObject(base, creds, "trailers", "signed.bin", size, "chunked-signed-trailer");
    expect(put.status, put.text).toBe(200);
    const got = await getObject(
      minio.url,
      { id: minio.accessKeyId, secret: minio.secretAccessKey },
      "trailers",
      "signed.bin",
    );
    expect(got.status).toBe(200);
    expect(got.hex).toBe(await expected());
    // The unsigned-trailer look-alike (what the JS SDK v3 sends for streams) lands too.
    const unsigned = await putObject(
      base,
      creds,
      "trailers",
      "unsigned.bin",
      size,
      "chunked-unsigned-trailer",
    );
    expect(unsigned.status, unsigned.text).toBe(200);
  });

  test("a tampered chunk or a tampered trailer is refused and nothing is stored", async () => {
    const creds = await mint(g, "aws-s3", await g.token("dba@bank.example", ["dba"]));
    const base = `http://127.0.0.1:${g.awsPort}`;
    const chunk = await putObject(base, creds, "trailers", "bad-chunk.bin", size, "chunked-signed-trailer", {
      tamperChunk: 2,
    });
    expect(chunk.status).not.toBe(200);
    const trailer = await putObject(
      base,
      creds,
      "trailers",
      "bad-trailer.bin",
      size,
      "chunked-signed-trailer",
      {
        tamperTrailer: true,
      },
    );
    expect(trailer.status).not.toBe(200);
    for (const key of ["bad-chunk.bin", "bad-trailer.bin"]) {
      const head = await aws(direct(), "s3api", "head-object", "--bucket", "trailers", "--key", key);
      expect(head.code).not.toBe(0);
    }
  });
});
