import { describe, expect, test } from "bun:test";
import { MaskingEngine } from "../../masking/engine.ts";
import { maskDocument, maskWatchStream, responseMaskPlan } from "./mask.ts";
import { maskSecrets, REDACTED_BASE64, recordableBody } from "./secret-mask.ts";

const engine = new MaskingEngine({ hmacKey: "test-key-0123456789abcdef" });
const PASSWORD = Buffer.from("hunter2-canary").toString("base64");
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

const secret = (kindless = false) => ({
  ...(kindless ? {} : { kind: "Secret", apiVersion: "v1" }),
  metadata: {
    name: "db",
    annotations: { [LAST_APPLIED]: `{"data":{"password":"${PASSWORD}"}}`, team: "core" },
    managedFields: [{ fieldsV1: { "f:data": { "f:password": {} } } }],
  },
  data: { password: PASSWORD, user: Buffer.from("app").toString("base64") },
  stringData: { token: "plain-canary" },
  type: "Opaque",
});

const leaks = (v: unknown) => {
  const s = JSON.stringify(v);
  return ["hunter2-canary", PASSWORD, "plain-canary"].filter((c) => s.includes(c));
};

describe("Secret values are removed wherever a Secret appears", () => {
  test("a Secret: data, stringData and the last-applied annotation; keys and other annotations stay", () => {
    const s = secret();
    expect(maskSecrets(s, false).values).toBe(4);
    expect(leaks(s)).toEqual([]);
    expect(Object.keys(s.data)).toEqual(["password", "user"]);
    expect(s.data.password).toBe(REDACTED_BASE64);
    expect(Buffer.from(REDACTED_BASE64, "base64").toString()).toBe("[REDACTED]");
    expect(s.metadata.annotations.team).toBe("core");
  });
  test("a SecretList's items carry no kind: the secrets resource masks them all", () => {
    const list = { kind: "SecretList", apiVersion: "v1", items: [secret(true), secret(true)] };
    maskSecrets(list, true);
    expect(leaks(list)).toEqual([]);
  });
  test("without the secrets resource, kindless objects are not Secrets (a ConfigMap's data stays)", () => {
    const cm = { kind: "ConfigMap", data: { password: "not-a-secret" } };
    maskSecrets(cm, false);
    expect(cm.data.password).toBe("not-a-secret");
  });
  test("Table rows with full objects, watch events and nested Lists", () => {
    const table = {
      kind: "Table",
      rows: [{ cells: ["db", "Opaque", 2, "1m"], object: secret() }],
    };
    const event = { type: "ADDED", object: secret() };
    const mixed = { kind: "List", items: [{ kind: "Pod", spec: {} }, secret()] };
    for (const v of [table, event, mixed]) maskSecrets(v, false);
    expect(leaks([table, event, mixed])).toEqual([]);
    expect(table.rows[0]!.cells).toEqual(["db", "Opaque", 2, "1m"]);
  });
  test("a Secret whose data is not a map is emptied, not forwarded", () => {
    const odd = { kind: "Secret", data: ["hunter2-canary"] as unknown };
    maskSecrets(odd, false);
    expect(leaks(odd)).toEqual([]);
  });
});

describe("response masking", () => {
  test("a document: Secrets plus the decision's detectors", () => {
    const plan = responseMaskPlan(engine, [{ detector: "ssn", method: "redact" }], true, false)!;
    const pod = { kind: "Pod", spec: { containers: [{ env: [{ name: "X", value: "ssn 123-45-6789" }] }] } };
    const out = new TextDecoder().decode(
      maskDocument(plan, new TextEncoder().encode(JSON.stringify({ kind: "List", items: [pod, secret()] }))),
    );
    expect(out).not.toContain("123-45-6789");
    expect(leaks(JSON.parse(out))).toEqual([]);
    expect(plan.secretValues).toBe(4);
  });
  test("nothing to mask: no plan", () => {
    expect(responseMaskPlan(engine, [], false, false)).toBeNull();
  });
  test("not JSON is refused", () => {
    const plan = responseMaskPlan(engine, [], true, true)!;
    expect(() => maskDocument(plan, new TextEncoder().encode("k8s\0protobuf"))).toThrow();
  });

  async function runWatch(chunks: string[], bound = 1 << 20) {
    const plan = responseMaskPlan(engine, [], true, true)!;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(new TextEncoder().encode(ch));
        c.close();
      },
    }).pipeThrough(maskWatchStream(plan, bound));
    return await new Response(stream).text();
  }

  test("a watch stream is masked event by event, whatever the chunking", async () => {
    const events = [1, 2, 3]
      .map((i) => JSON.stringify({ type: "MODIFIED", object: { ...secret(), n: i } }))
      .join("\n");
    const whole = `${events}\n`;
    // Split inside events, between them, and one byte at a time at the start.
    const chunks = [whole.slice(0, 1), whole.slice(1, 50), whole.slice(50, 400), whole.slice(400)];
    const out = await runWatch(chunks);
    expect(leaks(out)).toEqual([]);
    expect(
      out
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).object.n),
    ).toEqual([1, 2, 3]);
  });
  test("an event larger than the bound ends the stream", async () => {
    const big = JSON.stringify({ type: "ADDED", object: { ...secret(), pad: "x".repeat(5000) } });
    await expect(runWatch([big.slice(0, 3000), big.slice(3000)], 1024)).rejects.toThrow(/bound/);
  });
  test("a watch line that is not JSON ends the stream", async () => {
    await expect(runWatch(['{"type":"ADDED","object":{}}\n', "garbage\n"])).rejects.toThrow();
  });
});

describe("what the recording keeps of a response", () => {
  test("Secret values are removed for everyone; a body that cannot be masked is not kept", () => {
    const doc = JSON.stringify({ kind: "SecretList", items: [secret(true)] });
    expect(leaks(recordableBody(doc, true))).toEqual([]);
    const watch = `${JSON.stringify({ type: "ADDED", object: secret() })}\n${JSON.stringify({ type: "MODIFIED", object: secret() })}\n`;
    expect(leaks(recordableBody(watch, false))).toEqual([]);
    expect(recordableBody(doc.slice(0, 60), true)).toStartWith("[not recorded");
    expect(recordableBody('{"kind":"ConfigMap","data":{"a":"b"}}', false)).toBe(
      '{"kind":"ConfigMap","data":{"a":"b"}}',
    );
  });
});
