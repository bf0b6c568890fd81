// Feature capture shared by the in-process (TypeScript) probes: an error becomes its SQLSTATE (or its class
// and first line), so one defect does not hide the features after it.
import type { Observed } from "../support.ts";

export function sqlstateOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  const e = err as Error;
  return `${e?.name ?? "Error"}: ${String(e?.message ?? err)
    .split("\n")[0]
    ?.slice(0, 160)}`;
}

export async function capture(out: Observed, name: string, fn: () => Promise<unknown>, timeoutMs = 20_000) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    out[name] = await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    out[name] = { error: sqlstateOf(err) };
  } finally {
    clearTimeout(timer);
  }
}

export const ERROR_STATEMENTS = [
  "selec 1",
  "select 1/0",
  "insert into uniq values (1), (1)",
  "select * from no_such_table",
  "select 'abc'::int",
];

export const STARTUP_SETTINGS = [
  "statement_timeout",
  "lock_timeout",
  "idle_in_transaction_session_timeout",
  "application_name",
];
