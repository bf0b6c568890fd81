// The catalog's version, as a fingerprint of the catalogs a resolution depends on (relations, columns,
// view rules, functions): every DDL writes rows there with a new transaction id, and a drop lowers a
// count. Polled in the background on the catalog connection, so a view redefined or a column renamed by
// anyone (through the gateway or not) drops the cached resolutions and decisions within one interval,
// and the statement hot path never waits for it.
import type postgres from "postgres";

const FINGERPRINT = `
  select concat_ws('/',
    (select count(*) || ':' || max(xmin::text::int8) from pg_class),
    (select count(*) || ':' || max(xmin::text::int8) from pg_attribute),
    (select count(*) || ':' || max(xmin::text::int8) from pg_rewrite),
    (select count(*) || ':' || max(xmin::text::int8) from pg_proc),
    (select count(*) || ':' || max(xmin::text::int8) from pg_index)) as v`;

export function watchCatalogVersion(
  sql: postgres.Sql,
  intervalMs: number,
  onChange: () => void,
): { stop(): void } {
  let last: string | null = null;
  let busy = false;
  const poll = async () => {
    if (busy) return;
    busy = true;
    try {
      const rows = await sql.unsafe(FINGERPRINT).simple();
      const v = String((rows[0] as { v?: unknown } | undefined)?.v ?? "");
      if (last !== null && v !== last) onChange();
      last = v;
    } catch {
      // The catalog connection is down: resolutions fail closed meanwhile; the next poll compares again.
    } finally {
      busy = false;
    }
  };
  void poll();
  const timer = setInterval(() => void poll(), intervalMs);
  timer.unref?.();
  return { stop: () => clearInterval(timer) };
}
