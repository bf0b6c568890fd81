// What the SIEM stream may not carry although the audit log does: an agent's statement can hold a literal
// regulated value (`where ssn = '…'`). The masking detectors (built-in and the operator's) run over the
// free-text fields of each event on its way to a sink and replace every hit with [REDACTED:<detector>].
import type { MaskingEngine } from "../masking/engine.ts";
import { type ActiveDetector, scanValue } from "../masking/scan.ts";

export function siemRedactor(engine: MaskingEngine): (text: string) => string {
  const detectors: ActiveDetector[] = [...engine.registry.values()].map((r, index) => ({
    detector: r.detector,
    method: "redact",
    index,
  }));
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const spans: number[] = [];
  return (text) => {
    const buf = enc.encode(text);
    const n = scanValue(buf, 0, buf.length, detectors, 0, spans);
    if (n === 0) return text;
    let out = "";
    let at = 0;
    for (let i = 0; i < n; i++) {
      const [s, e, d] = [spans[i * 3]!, spans[i * 3 + 1]!, spans[i * 3 + 2]!];
      out += `${dec.decode(buf.subarray(at, s))}[REDACTED:${detectors[d]!.detector.name}]`;
      at = e;
    }
    return out + dec.decode(buf.subarray(at));
  };
}
