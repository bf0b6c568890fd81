// ErrorResponse and NoticeResponse text can carry row values (`Key (ssn)=(078-05-1120) already exists`,
// `invalid input syntax for type integer: "4111…"`). For a command whose results are masked, every
// detector runs over the human-readable fields, and the value lists PostgreSQL quotes in a detail are
// redacted whole, since a value of a masked column need not look like anything a detector knows.
import type { MaskingEngine } from "../../masking/engine.ts";
import { materialize } from "../../masking/pieces.ts";
import { maskValue, type PgRowMasker, pgRowMasker } from "./mask.ts";

// 'E'/'N', protocol-message-formats: Int32 length, then (Byte1 field type, String value)*, then a zero
// byte. error-message-fields: M message, D detail, H hint, W where (context), q internal query, p/P
// positions. S, V, C, s, t, c, d, n, F, L, R name the error and the objects, not values.
const TEXT_FIELDS = new Set([0x4d /* M */, 0x44 /* D */, 0x48 /* H */, 0x57 /* W */, 0x71 /* q */]);

const enc = new TextEncoder();
const dec = new TextDecoder();

/** `Key (a, b)=(x, y) already exists.` and friends (ri_triggers.c, nbtinsert.c, execMain.c). */
const KEY_VALUES = /^(Key \((?:[^()]|\([^()]*\))*\)=\()([\s\S]*)(\)[^()]*)$/;
const FAILING_ROW = /^(Failing row contains \()([\s\S]*)(\)\.?)$/;

export class NoticeMasker {
  private readonly masker: PgRowMasker;

  constructor(engine: MaskingEngine) {
    const plan = engine.plan([{ detector: "*", method: "redact" }], [{ name: "message" }]);
    this.masker = pgRowMasker(plan, [{ typeOid: 25, format: 0 }]);
  }

  /** The message with its text fields masked; the same array when nothing changed. */
  mask(msg: Uint8Array): Uint8Array {
    const fields: { type: number; value: Uint8Array }[] = [];
    let changed = false;
    let pos = 5;
    while (pos < msg.length && msg[pos] !== 0) {
      const type = msg[pos]!;
      const nul = msg.indexOf(0, pos + 1);
      if (nul === -1) return msg; // malformed: the tracker reports it; nothing here to mask safely
      let value = msg.subarray(pos + 1, nul);
      if (TEXT_FIELDS.has(type)) {
        const masked = this.maskText(type, value);
        if (masked !== value) {
          changed = true;
          value = masked;
        }
      }
      fields.push({ type, value });
      pos = nul + 1;
    }
    if (!changed) return msg;
    const size = 4 + fields.reduce((n, f) => n + 2 + f.value.length, 0) + 1;
    const out = new Uint8Array(1 + size);
    out[0] = msg[0]!;
    new DataView(out.buffer).setInt32(1, size);
    let w = 5;
    for (const f of fields) {
      out[w++] = f.type;
      out.set(f.value, w);
      w += f.value.length;
      out[w++] = 0;
    }
    out[w] = 0;
    return out;
  }

  /**
   * 'A' NotificationResponse (protocol-message-formats: Int32 sender PID, String channel, String payload):
   * a payload is whatever `pg_notify` was given, a row as text as easily as a word, so the detectors run
   * over the channel and the payload. The same array when nothing changed; null when it is malformed.
   */
  maskNotification(msg: Uint8Array): Uint8Array | null {
    const channelEnd = msg.indexOf(0, 9);
    const payloadEnd = channelEnd === -1 ? -1 : msg.indexOf(0, channelEnd + 1);
    if (msg.length < 11 || payloadEnd === -1) return null;
    const channel = msg.subarray(9, channelEnd);
    const payload = msg.subarray(channelEnd + 1, payloadEnd);
    const maskedChannel = this.maskText(0x4d, channel);
    const maskedPayload = this.maskText(0x4d, payload);
    if (maskedChannel === channel && maskedPayload === payload) return msg;
    const size = 4 + 4 + maskedChannel.length + 1 + maskedPayload.length + 1;
    const out = new Uint8Array(1 + size);
    out[0] = msg[0]!;
    new DataView(out.buffer).setInt32(1, size);
    out.set(msg.subarray(5, 9), 5);
    out.set(maskedChannel, 9);
    out.set(maskedPayload, 9 + maskedChannel.length + 1);
    return out;
  }

  private maskText(type: number, value: Uint8Array): Uint8Array {
    let v = value;
    if (type === 0x44 /* D */) {
      const text = dec.decode(v);
      const m = KEY_VALUES.exec(text) ?? FAILING_ROW.exec(text);
      if (m) v = enc.encode(`${m[1]}[REDACTED]${m[3]}`);
    }
    const pieces = maskValue(this.masker, 0, v, 0, v.length);
    if (pieces === undefined) return v;
    return pieces === null ? enc.encode("[REDACTED]") : materialize(v, pieces);
  }
}
