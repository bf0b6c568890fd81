import { describe, expect, test } from "bun:test";
import { AGENT_MAX_MESSAGE, AGENT_REQUESTS_ALLOWED, AgentFramer, agentMessageName } from "./agent-codec.ts";

/** An agent message: uint32 length, type byte, contents (draft-miller-ssh-agent §3). */
function message(type: number, body: number[] = []): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  new DataView(out.buffer).setUint32(0, 1 + body.length);
  out[4] = type;
  out.set(body, 5);
  return out;
}

describe("AgentFramer", () => {
  test("frames whole messages, several in one chunk", () => {
    const f = new AgentFramer();
    const both = new Uint8Array([...message(11), ...message(13, [1, 2, 3])]);
    const got = f.push(both);
    expect(got.map((m) => [m.type, m.bytes.length])).toEqual([
      [11, 5],
      [13, 8],
    ]);
    expect(f.held).toBe(0);
  });

  test("a message split at every byte comes out once, whole", () => {
    const f = new AgentFramer();
    const m = message(14, [9, 8, 7, 6, 5, 4]);
    const got = [...m].flatMap((b) => f.push(new Uint8Array([b])));
    expect(got).toHaveLength(1);
    expect([...(got[0]?.bytes ?? [])]).toEqual([...m]);
  });

  test("does not keep the caller's chunk", () => {
    const f = new AgentFramer();
    const chunk = message(13, [1, 2, 3]).subarray(0, 6);
    f.push(chunk);
    chunk.fill(0);
    const got = f.push(new Uint8Array([2, 3]));
    expect([...(got[0]?.bytes ?? [])]).toEqual([...message(13, [1, 2, 3])]);
  });

  test("a length of 0 or past the agent's bound throws", () => {
    expect(() => new AgentFramer().push(new Uint8Array([0, 0, 0, 0, 11]))).toThrow();
    const big = new Uint8Array(5);
    new DataView(big.buffer).setUint32(0, AGENT_MAX_MESSAGE + 1);
    expect(() => new AgentFramer().push(big)).toThrow();
  });
});

test("the target may list keys, sign and send extensions; nothing that changes the client's agent", () => {
  expect([...AGENT_REQUESTS_ALLOWED].map(agentMessageName).sort()).toEqual([
    "SSH_AGENTC_EXTENSION",
    "SSH_AGENTC_REQUEST_IDENTITIES",
    "SSH_AGENTC_SIGN_REQUEST",
  ]);
  for (const t of [17, 18, 19, 20, 21, 22, 23, 25, 26]) expect(AGENT_REQUESTS_ALLOWED.has(t)).toBe(false);
  expect(agentMessageName(200)).toBe("unknown(200)");
});
