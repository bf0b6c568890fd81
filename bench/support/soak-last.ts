// The last soak's verdict for bench/run's goal table: bench/out/soak-last.json when bench/run --soak ran on
// this machine (bench/out is not committed), else the generated soak section of bench/RESULTS.md, so a
// fresh clone still reports the committed verdict with its date and commit. Null when neither says.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { OtherResults } from "./report.ts";
import { begin, end } from "./results-md.ts";
import { SOAK_LAST, type SoakCheck } from "./soak-verdict.ts";

export type SoakSummary = NonNullable<OtherResults["soak"]>;

/** From the JSON bench/soak.ts writes. */
export function fromSoakFile(text: string): SoakSummary | null {
  const j = JSON.parse(text) as { ok?: unknown; date?: unknown; commit?: unknown; checks?: SoakCheck[] };
  if (typeof j.ok !== "boolean" || typeof j.date !== "string" || typeof j.commit !== "string") return null;
  const failed = (j.checks ?? []).filter((c) => !c.ok);
  return {
    ok: j.ok,
    date: j.date,
    commit: j.commit.slice(0, 12),
    summary: failed.length
      ? failed.map((c) => `${c.name} failed: ${c.detail}`).join("; ")
      : "RSS flat, no errors, queue level",
  };
}

/** From bench/RESULTS.md's generated soak section (its date line and its verdict line). */
export function fromResultsMd(doc: string): SoakSummary | null {
  const i = doc.indexOf(begin("soak"));
  const j = doc.indexOf(end("soak"));
  if (i === -1 || j < i) return null;
  const section = doc.slice(i, j);
  const head = /^(\S+Z) · commit ([0-9a-f]+)/m.exec(section);
  const verdict = /^\*\*Verdict: (pass|FAIL)\*\*(?: — (.*))?$/m.exec(section);
  if (!head || !verdict) return null;
  return {
    ok: verdict[1] === "pass",
    date: head[1]!,
    commit: head[2]!,
    summary: verdict[2]?.trim() || (verdict[1] === "pass" ? "RSS flat, no errors, queue level" : "failed"),
  };
}

export function lastSoak(root: string): SoakSummary | null {
  try {
    const s = fromSoakFile(readFileSync(join(root, SOAK_LAST), "utf8"));
    if (s) return s;
  } catch {}
  try {
    return fromResultsMd(readFileSync(join(root, "bench/RESULTS.md"), "utf8"));
  } catch {
    return null;
  }
}
