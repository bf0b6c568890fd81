// The ssh-agent protocol's framing (draft-miller-ssh-agent §3: uint32 length, then a byte of message
// type and the contents), read as a stream so forwarded agent channels can be recorded by message type
// and length only: a key blob, a signed payload or a signature is never kept or recorded. Pure.

/** Longest message OpenSSH's agent accepts (authfd.c / ssh-agent.c AGENT_MAX_LEN). */
export const AGENT_MAX_MESSAGE = 256 * 1024;

/** Message types (draft-miller-ssh-agent §6.1). */
export const AGENT_MESSAGE = {
  SSH_AGENT_FAILURE: 5,
  SSH_AGENT_SUCCESS: 6,
  SSH_AGENTC_REQUEST_IDENTITIES: 11,
  SSH_AGENT_IDENTITIES_ANSWER: 12,
  SSH_AGENTC_SIGN_REQUEST: 13,
  SSH_AGENT_SIGN_RESPONSE: 14,
  SSH_AGENTC_ADD_IDENTITY: 17,
  SSH_AGENTC_REMOVE_IDENTITY: 18,
  SSH_AGENTC_REMOVE_ALL_IDENTITIES: 19,
  SSH_AGENTC_ADD_SMARTCARD_KEY: 20,
  SSH_AGENTC_REMOVE_SMARTCARD_KEY: 21,
  SSH_AGENTC_LOCK: 22,
  SSH_AGENTC_UNLOCK: 23,
  SSH_AGENTC_ADD_ID_CONSTRAINED: 25,
  SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED: 26,
  SSH_AGENTC_EXTENSION: 27,
  SSH_AGENT_EXTENSION_FAILURE: 28,
} as const;

const NAMES = new Map<number, string>(Object.entries(AGENT_MESSAGE).map(([name, n]) => [n, name]));

export function agentMessageName(type: number): string {
  return NAMES.get(type) ?? `unknown(${type})`;
}

/**
 * What the target may ask of the client's agent: list its keys, have it sign (which is what agent
 * forwarding is for), and extensions (OpenSSH's session-bind@openssh.com, sent by an `ssh` on the target
 * before it signs). Adding, removing, locking or unlocking the client's keys is not forwarding: a
 * channel that asks for it is closed before the request reaches the client.
 */
export const AGENT_REQUESTS_ALLOWED: ReadonlySet<number> = new Set([
  AGENT_MESSAGE.SSH_AGENTC_REQUEST_IDENTITIES,
  AGENT_MESSAGE.SSH_AGENTC_SIGN_REQUEST,
  AGENT_MESSAGE.SSH_AGENTC_EXTENSION,
]);

export interface AgentMessage {
  type: number;
  /** The whole message, its 4-byte length included. */
  bytes: Uint8Array;
}

/** Splits a byte stream into whole agent messages; a declared length outside 1..AGENT_MAX_MESSAGE throws. */
export class AgentFramer {
  private pending: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): AgentMessage[] {
    let buf = this.pending.length === 0 ? chunk : concat(this.pending, chunk);
    const out: AgentMessage[] = [];
    while (buf.length >= 4) {
      const len = new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0);
      if (len < 1 || len > AGENT_MAX_MESSAGE)
        throw new Error(`an agent message of ${len} bytes is outside 1..${AGENT_MAX_MESSAGE}`);
      if (buf.length < 4 + len) break;
      out.push({ type: buf[4] as number, bytes: buf.subarray(0, 4 + len) });
      buf = buf.subarray(4 + len);
    }
    // Held bytes are copied so a caller's chunk is never retained past this call.
    this.pending = buf.length === 0 ? new Uint8Array(0) : buf.slice();
    return out;
  }

  /** Bytes held of a message not yet whole. */
  get held(): number {
    return this.pending.length;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
