// Operator-defined detectors from config (`masking.detectors: [{name, pattern, method}]`): a regular
// expression run over the value read as Latin-1, so that string offsets are byte offsets and no UTF-8
// decode is needed. ASCII patterns (account formats, employee ids) match exactly; a pattern with
// non-ASCII literals would have to spell their UTF-8 bytes, which the config loader should not promise.
import { CustosError } from "../../core/errors.ts";
import { ALWAYS, type Detector } from "../detector.ts";

const MAX_PATTERN = 512;

export function customDetector(name: string, pattern: string): Detector {
  if (!/^[a-z][a-z0-9_]{0,40}$/.test(name)) {
    throw new CustosError(
      "config.invalid",
      `masking detector name must be lower_snake_case: ${JSON.stringify(name)}`,
    );
  }
  if (pattern.length === 0 || pattern.length > MAX_PATTERN) {
    throw new CustosError(
      "config.invalid",
      `masking detector ${name}: pattern must be 1–${MAX_PATTERN} characters`,
    );
  }
  let re: RegExp;
  try {
    re = new RegExp(pattern, "g");
  } catch (err) {
    throw new CustosError(
      "config.invalid",
      `masking detector ${name}: invalid pattern: ${(err as Error).message}`,
    );
  }
  // An empty match would mask nothing yet loop forever; refuse the pattern outright.
  if (new RegExp(`^(?:${pattern})$`).test("")) {
    throw new CustosError("config.invalid", `masking detector ${name}: pattern matches the empty string`);
  }
  return {
    name,
    // No prefilter: what a pattern requires cannot be read off it safely.
    needs: ALWAYS,
    minDigits: 0,
    minRun: 0,
    canonical: false,
    find(buf, start, end, _flags, out) {
      const text = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString("latin1");
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        if (m[0].length === 0) {
          re.lastIndex++;
          continue;
        }
        out.push(start + m.index, start + m.index + m[0].length);
      }
    },
  };
}
