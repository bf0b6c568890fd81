// `<conn>__call`: one AWS API call sent to the gateway's own AWS listener on loopback, signed (SigV4) with
// credentials the gateway mints for the caller's own token exactly as `custos aws credentials` gets them
// (POST /aws/credentials on listen.http), so the call is verified, decided, held, re-signed for the
// target, masked and recorded as an AWS SDK's call is (src/protocols/aws): nothing is decided here. The
// minted key is kept per MCP session and connection until shortly before it expires.
import { amzDate, canonicalQuery, sha256Hex, sign, uriEncode } from "../../net/sigv4.ts";
import type { HttpResult } from "./http-tool.ts";
import { readCapped, TEXTUAL } from "./http-tool.ts";
import type { AwsCallArgs } from "./tool-args.ts";
import { MAX_RESULT_BYTES } from "./tools.ts";

interface Minted {
  id: string;
  secret: string;
  expiresAt: number;
}

// A key is not used in its last minute: a call signed now still verifies when it arrives.
const REUSE_MARGIN_MS = 60_000;

export class AwsCaller {
  private readonly keys = new Map<string, Promise<Minted>>();

  constructor(
    private readonly ports: () => { http: number; aws: number | undefined },
    private readonly credential: string,
  ) {}

  async call(connection: string, args: AwsCallArgs, signal: AbortSignal): Promise<HttpResult> {
    const port = this.ports().aws;
    if (!port) throw new Error("the AWS listener is not running (listen.aws)");
    const key = await this.key(connection, signal);
    const body = args.body === undefined ? new Uint8Array(0) : new TextEncoder().encode(args.body);
    const now = Date.now();
    const date = amzDate(now);
    const host = `127.0.0.1:${port}`;
    const payloadHash = sha256Hex(body);
    const headers: Record<string, string> = {
      host,
      "x-amz-date": date,
      "x-amz-content-sha256": payloadHash,
      ...args.headers,
    };
    const s = sign({
      method: args.method,
      canonicalUri: args.service === "s3" ? args.path : uriEncode(args.path, true),
      query: args.query,
      headers,
      payloadHash,
      scope: { date: date.slice(0, 8), region: args.region, service: args.service },
      amzDate: date,
      accessKeyId: key.id,
      secret: key.secret,
    });
    const search = args.query.length > 0 ? `?${canonicalQuery(args.query)}` : "";
    const res = await fetch(`http://${host}${args.path}${search}`, {
      method: args.method,
      headers: { ...headers, authorization: s.authorization, "user-agent": "custos-mcp" },
      ...(body.length > 0 ? { body } : {}),
      redirect: "manual",
      signal,
    });
    const contentType = res.headers.get("content-type");
    const { bytes, truncated } = await readCapped(res, MAX_RESULT_BYTES);
    const textual = contentType === null || TEXTUAL.test(contentType) || /amz-json/.test(contentType);
    return {
      status: res.status,
      contentType,
      body: textual ? new TextDecoder().decode(bytes) : Buffer.from(bytes).toString("base64"),
      encoding: textual ? "utf-8" : "base64",
      truncated,
    };
  }

  /** The caller's minted key for the connection, minted again when it is about to expire or was refused. */
  private key(connection: string, signal: AbortSignal): Promise<Minted> {
    const cached = this.keys.get(connection);
    if (cached) {
      return cached.then(
        (k) => (k.expiresAt - Date.now() > REUSE_MARGIN_MS ? k : this.mint(connection, signal)),
        () => this.mint(connection, signal),
      );
    }
    return this.mint(connection, signal);
  }

  private mint(connection: string, signal: AbortSignal): Promise<Minted> {
    const minting = (async () => {
      const res = await fetch(`http://127.0.0.1:${this.ports().http}/aws/credentials`, {
        method: "POST",
        headers: { authorization: `Bearer ${this.credential}`, "content-type": "application/json" },
        body: JSON.stringify({ connection }),
        signal,
      });
      const json = (await res.json().catch(() => ({}))) as {
        AccessKeyId?: unknown;
        SecretAccessKey?: unknown;
        Expiration?: unknown;
        error?: { code?: string; message?: string };
      };
      if (!res.ok || typeof json.AccessKeyId !== "string" || typeof json.SecretAccessKey !== "string")
        throw new Error(
          `no AWS credentials for "${connection}": ${json.error?.message ?? `HTTP ${res.status}`}${json.error?.code ? ` (${json.error.code})` : ""}`,
        );
      return {
        id: json.AccessKeyId,
        secret: json.SecretAccessKey,
        expiresAt: Date.parse(String(json.Expiration)) || Date.now(),
      };
    })();
    this.keys.set(connection, minting);
    minting.catch(() => this.keys.delete(connection));
    return minting;
  }
}
