// AWS-compatible targets and clients for the AWS tests: MinIO (S3, strict SigV4) and moto's server with
// authentication enforced (DynamoDB, SQS, STS, IAM), started on loopback on free ports and stopped by PID;
// the AWS CLI and boto3 from the venv scripts/setup-aws-deps keeps outside the clone; a gateway with aws
// connections to them; and the CLI run with a profile whose credential_process is `custos aws credentials`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import { createLogger, type Logger } from "../../src/core/log.ts";
import { type RunningGateway, startGateway } from "../../src/gateway.ts";
import { amzDate, sign } from "../../src/net/sigv4.ts";
import { freePort } from "./free-port.ts";
import type { OidcIssuer } from "./oidc-issuer.ts";
import { defaultBundle } from "./policy-bundle.ts";

const ROOT = join(import.meta.dir, "../..");

export interface AwsDeps {
  MINIO: string;
  MOTO_SERVER: string;
  AWS_CLI: string;
  AWS_PYTHON: string;
}

const deps = new Map<string, Promise<AwsDeps>>();

/**
 * Paths of the pinned MinIO and/or moto, AWS CLI and Python (installed on first use: minutes when cold).
 * `parts`: "minio", "python", or both.
 */
export function awsDeps(...parts: ("minio" | "python")[]): Promise<AwsDeps> {
  const key = parts.join(" ");
  let found = deps.get(key);
  if (found) return found;
  found = (async () => {
    const proc = Bun.spawn(["sh", join(ROOT, "scripts/setup-aws-deps"), ...parts], {
      stdout: "pipe",
      stderr: "inherit",
    });
    const out = await new Response(proc.stdout).text();
    if ((await proc.exited) !== 0) throw new Error("scripts/setup-aws-deps failed");
    const kv = Object.fromEntries(
      out
        .trim()
        .split("\n")
        .map((l) => l.split(/=(.*)/s, 2) as [string, string]),
    );
    return kv as unknown as AwsDeps;
  })();
  deps.set(key, found);
  return found;
}

export interface AwsTargetServer {
  url: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

async function waitReady(url: string, ok: (res: Response) => boolean, what: string, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (ok(res)) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${what} did not become ready at ${url}`);
    await Bun.sleep(100);
  }
}

export async function startMinio(): Promise<AwsTargetServer> {
  const { MINIO } = await awsDeps("minio");
  const dir = mkdtempSync(join(tmpdir(), "custos-minio-"));
  const port = await freePort();
  const accessKeyId = "minio-root-Ak7";
  const secretAccessKey = "minio-Secret-9f3c2e71b4d0a8";
  const proc = Bun.spawn([MINIO, "server", join(dir, "data"), "--address", `127.0.0.1:${port}`, "--quiet"], {
    env: {
      ...process.env,
      MINIO_ROOT_USER: accessKeyId,
      MINIO_ROOT_PASSWORD: secretAccessKey,
      MINIO_BROWSER: "off",
      MINIO_UPDATE: "off",
    },
    stdout: "ignore",
    stderr: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/minio/health/live`, (r) => r.ok, "MinIO");
  return {
    url,
    port,
    accessKeyId,
    secretAccessKey,
    async stop() {
      proc.kill();
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A query-protocol IAM call to moto, signed with whatever key is given (moto's first calls are unchecked). */
async function iamCall(url: string, params: Record<string, string>, key: { id: string; secret: string }) {
  const body = new URLSearchParams({ ...params, Version: "2010-05-08" }).toString();
  const now = Date.now();
  const date = amzDate(now);
  const host = new URL(url).host;
  const headers = {
    host,
    "x-amz-date": date,
    "content-type": "application/x-www-form-urlencoded; charset=utf-8",
  };
  const s = sign({
    method: "POST",
    canonicalUri: "/",
    query: [],
    headers,
    payloadHash: new Bun.CryptoHasher("sha256").update(body).digest("hex"),
    scope: { date: date.slice(0, 8), region: "us-east-1", service: "iam" },
    amzDate: date,
    accessKeyId: key.id,
    secret: key.secret,
  });
  const res = await fetch(`${url}/`, {
    method: "POST",
    headers: { ...headers, authorization: s.authorization },
    body,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`moto iam ${params.Action}: ${res.status} ${text}`);
  return text;
}

const ADMIN_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
});
// The unauthenticated calls that make the gateway's IAM user: CreateUser, CreatePolicy, AttachUserPolicy,
// CreateAccessKey. moto enforces signatures (and IAM policies) on every call after these.
const SETUP_CALLS = 4;

/** moto on a free port; `env` adds to its environment (e.g. MOTO_RECORDER_FILEPATH for its recorder). */
export async function startMoto(env: Record<string, string> = {}): Promise<AwsTargetServer> {
  const { MOTO_SERVER } = await awsDeps("python");
  const port = await freePort();
  const proc = Bun.spawn([MOTO_SERVER, "-H", "127.0.0.1", "-p", String(port)], {
    env: {
      ...process.env,
      ...env,
      INITIAL_NO_AUTH_ACTION_COUNT: String(SETUP_CALLS),
      MOTO_ALLOW_NONEXISTENT_REGION: "false",
    },
    stdout: "ignore",
    stderr: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/moto-api/`, (r) => r.status < 500, "moto");
  const bootstrap = { id: "AKIABOOTSTRAP0000000", secret: "bootstrap" };
  await iamCall(url, { Action: "CreateUser", UserName: "custos-gateway" }, bootstrap);
  const policy = await iamCall(
    url,
    { Action: "CreatePolicy", PolicyName: "admin", PolicyDocument: ADMIN_POLICY },
    bootstrap,
  );
  const arn = /<Arn>([^<]+)<\/Arn>/.exec(policy)![1]!;
  await iamCall(url, { Action: "AttachUserPolicy", UserName: "custos-gateway", PolicyArn: arn }, bootstrap);
  const key = await iamCall(url, { Action: "CreateAccessKey", UserName: "custos-gateway" }, bootstrap);
  const accessKeyId = /<AccessKeyId>([^<]+)</.exec(key)![1]!;
  const secretAccessKey = /<SecretAccessKey>([^<]+)</.exec(key)![1]!;
  return {
    url,
    port,
    accessKeyId,
    secretAccessKey,
    async stop() {
      proc.kill();
      await proc.exited;
    },
  };
}

export interface AwsGateway {
  gw: RunningGateway;
  dataDir: string;
  httpPort: number;
  awsPort: number;
  logs: string[];
  token(subject: string, groups?: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** A gateway with one aws connection per target (`aws-<name>`), agents in group `agents`. */
export async function startAwsGateway(
  issuer: OidcIssuer,
  targets: Record<
    string,
    {
      server: AwsTargetServer;
      services: string[];
      extra?: Record<string, unknown>;
      /** Keys added to the connection's target (role_arn); `key` replaces the server's own credentials. */
      target?: Record<string, unknown>;
      key?: { id: string; secret: string };
    }
  >,
  config: Record<string, unknown> = {},
): Promise<AwsGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), "custos-gw-aws-"));
  const env: Record<string, string> = {};
  const connections = Object.entries(targets).map(([name, t]) => {
    const up = name.toUpperCase().replace(/[^A-Z0-9]/g, "_");
    env[`${up}_KEY_ID`] = t.key?.id ?? t.server.accessKeyId;
    env[`${up}_SECRET`] = t.key?.secret ?? t.server.secretAccessKey;
    return {
      name: `aws-${name}`,
      type: "aws",
      target: {
        region: "us-east-1",
        endpoint: t.server.url,
        access_key_id_env: `${up}_KEY_ID`,
        secret_access_key_env: `${up}_SECRET`,
        ...t.target,
      },
      services: t.services,
      allow_groups: ["agents", "dba"],
      approvers: ["approvers"],
      review_timeout: "60s",
      ...t.extra,
    };
  });
  const raw = {
    listen: {
      postgres: `127.0.0.1:${await freePort()}`,
      http: `127.0.0.1:${await freePort()}`,
      aws: `127.0.0.1:${await freePort()}`,
    },
    data_dir: dataDir,
    identity: {
      issuers: [{ issuer: issuer.issuer, audience: "custos", groups_claim: "groups" }],
      agent_groups: ["agents"],
    },
    connections,
    ...config,
  };
  const cfg = parseConfig(raw, dataDir, env);
  const logs: string[] = [];
  const logger: Logger = createLogger("debug", {}, (line) => void logs.push(line));
  const gw = await startGateway(cfg, { logger, policyBundle: await defaultBundle() });
  return {
    gw,
    dataDir,
    httpPort: gw.httpPort,
    awsPort: gw.protocolPorts.aws!,
    logs,
    token: (subject, groups = ["agents"]) =>
      issuer.mint({ iss: issuer.issuer, sub: subject, aud: "custos", groups }),
    async stop() {
      await gw.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The environment of an AWS CLI run straight at the target with its own keys: how a test reads the
 * target's real state, past the gateway. */
export function directEnv(server: AwsTargetServer): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_ENDPOINT_URL: server.url,
    AWS_EC2_METADATA_DISABLED: "true",
  };
}

/** An AWS config directory whose profile `custos` takes credentials from `custos aws credentials`. */
export function awsProfile(
  g: AwsGateway,
  connection: string,
  token: string,
  opts: { endpoint?: string; extra?: string } = {},
): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), "custos-awscfg-"));
  const config = join(dir, "config");
  writeFileSync(
    config,
    `[profile custos]
region = us-east-1
credential_process = ${process.execPath} ${join(ROOT, "src/cli/main.ts")} aws credentials --connection ${connection} --token ${token} --gateway http://127.0.0.1:${g.httpPort}
endpoint_url = ${opts.endpoint ?? `http://127.0.0.1:${g.awsPort}`}
${opts.extra ?? ""}`,
  );
  return {
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: join(dir, "none"),
    AWS_PROFILE: "custos",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_RETRY_MODE: "standard",
    AWS_MAX_ATTEMPTS: "1",
  };
}

/** Runs the AWS CLI (or the venv's python with `-c`) without blocking the gateway in this process. */
export async function run(
  argv: string[],
  env: Record<string, string>,
  stdin?: Uint8Array,
  timeoutMs = 90_000,
) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_")));
  const proc = Bun.spawn(argv, {
    stdin: stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...clean, ...env },
  });
  const timer = setTimeout(() => proc.kill(), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { stdout, stderr, code };
}

export interface Creds {
  id: string;
  secret: string;
}

/** `POST /aws/credentials` as `custos aws credentials` does it. */
export async function mint(g: AwsGateway, connection: string, token: string): Promise<Creds> {
  const res = await fetch(`http://127.0.0.1:${g.httpPort}/aws/credentials`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ connection }),
  });
  const json = (await res.json()) as Record<string, string>;
  if (!res.ok) throw new Error(`mint: ${res.status} ${JSON.stringify(json)}`);
  return { id: json.AccessKeyId!, secret: json.SecretAccessKey! };
}

export interface SignedCall {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

/** A DynamoDB JSON call signed like an SDK signs it (host, x-amz-date, x-amz-target, content-type). */
export function signedDynamo(
  base: string,
  creds: Creds,
  action: string,
  body: unknown,
  opts: { now?: number; region?: string } = {},
): SignedCall {
  const text = JSON.stringify(body);
  const date = amzDate(opts.now ?? Date.now());
  const headers: Record<string, string> = {
    host: new URL(base).host,
    "x-amz-date": date,
    "x-amz-target": `DynamoDB_20120810.${action}`,
    "content-type": "application/x-amz-json-1.0",
    // What the SDKs send (and sign) with every call, so two identical calls in one second differ.
    "amz-sdk-invocation-id": crypto.randomUUID(),
  };
  const s = sign({
    method: "POST",
    canonicalUri: "/",
    query: [],
    headers,
    payloadHash: new Bun.CryptoHasher("sha256").update(text).digest("hex"),
    scope: { date: date.slice(0, 8), region: opts.region ?? "us-east-1", service: "dynamodb" },
    amzDate: date,
    accessKeyId: creds.id,
    secret: creds.secret,
  });
  return {
    url: `${base}/`,
    method: "POST",
    headers: { ...headers, authorization: s.authorization },
    body: text,
  };
}

export async function send(c: SignedCall): Promise<{ status: number; text: string }> {
  const res = await fetch(c.url, { method: c.method, headers: c.headers, body: c.body });
  return { status: res.status, text: await res.text() };
}

/** A TCP relay that keeps every byte in both directions (what a target received, what a client got). */
export async function tapProxy(targetPort: number) {
  const port = await freePort();
  const up: Uint8Array[] = [];
  const down: Uint8Array[] = [];
  type Pair = { upstream?: import("bun").Socket<unknown>; early: Uint8Array[] };
  const server = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(client) {
        const pair: Pair = { early: [] };
        client.data = pair;
        void Bun.connect({
          hostname: "127.0.0.1",
          port: targetPort,
          socket: {
            open(u) {
              pair.upstream = u;
              for (const b of pair.early) u.write(b);
            },
            data(_u, chunk) {
              down.push(new Uint8Array(chunk));
              client.write(chunk);
            },
            close() {
              client.end();
            },
          },
        });
      },
      data(client, chunk) {
        up.push(new Uint8Array(chunk));
        if (client.data.upstream) client.data.upstream.write(chunk);
        else client.data.early.push(new Uint8Array(chunk));
      },
      close(client) {
        client.data.upstream?.end();
      },
    },
  });
  return {
    port,
    sent: () => Buffer.concat(up),
    received: () => Buffer.concat(down),
    stop: () => server.stop(true),
  };
}
