// Resolves RowDescription's (table OID, attribute number) pairs into the `schema.table.column` they read,
// so a mask rule on `ssn` still applies to `select ssn as x`, `t.*` and joins. One catalog query per
// RowDescription for all pairs not yet cached; results are cached per upstream with a bounded size and
// a TTL (a column renamed upstream is seen within the TTL).
//
// Views: PostgreSQL reports a view's own OID for its columns. The catalog describes the view's
// definition (pg_get_viewdef) on its own connection — Parse and Describe only, nothing executes — and
// maps each view column to what the defining query's RowDescription reports, recursively for views over
// views. A view column computed by an expression has no underlying column; it resolves to the view's
// column itself, so rules can name it (`v_customers.ssn_hash`) and the output-name fallback still applies.
import postgres from "postgres";
import { CustosError } from "../../core/errors.ts";
import type { SourceColumn } from "../../masking/plan.ts";

export interface CatalogConnection {
  host: string;
  port: number;
  user: string;
  /** The upstream secret; never logged. */
  password: string;
  database: string;
  /** postgres.js `ssl` option: false, true, or TLS options (e.g. `{ rejectUnauthorized, ca }`). */
  tls?: boolean | Record<string, unknown>;
}

export interface ColumnCatalogOptions {
  maxEntries?: number;
  ttlMs?: number;
  /** Views over views are followed this deep; deeper columns resolve to the view's own column. */
  maxViewDepth?: number;
  now?: () => number;
}

interface Entry {
  source: SourceColumn | null;
  at: number;
}

interface CatalogRow {
  relid: string;
  attnum: number;
  nspname: string;
  relname: string;
  attname: string;
  viewdef: string | null;
}

const key = (oid: number, attnum: number) => `${oid}:${attnum}`;

export class ColumnCatalog {
  private readonly sql: postgres.Sql;
  private readonly cache = new Map<string, Entry>();
  private readonly types = new Map<number, { textual: boolean; at: number }>();
  private readonly functions = new Map<number, { name: string | null; at: number }>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly maxViewDepth: number;
  private readonly now: () => number;

  constructor(conn: CatalogConnection, opts: ColumnCatalogOptions = {}) {
    this.sql = postgres({
      host: conn.host,
      port: conn.port,
      user: conn.user,
      pass: conn.password,
      database: conn.database,
      ssl: (conn.tls ?? false) as postgres.Options<Record<string, never>>["ssl"],
      max: 1,
      idle_timeout: 60,
      connect_timeout: 10,
      onnotice: () => {},
      connection: { application_name: "custos-catalog" },
    });
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.maxViewDepth = opts.maxViewDepth ?? 4;
    this.now = opts.now ?? Date.now;
  }

  /** Source columns for RowDescription fields, in order; undefined where the field is an expression. */
  async resolve(
    fields: readonly { tableOid: number; column: number }[],
  ): Promise<(SourceColumn | undefined)[]> {
    // Answers come from this map, not the cache: a small cache may evict during one lookup.
    const got = new Map<string, SourceColumn | null>();
    await this.load(fields, 0, got);
    return fields.map((f) => {
      if (f.tableOid === 0 || f.column <= 0) return undefined;
      return got.get(key(f.tableOid, f.column)) ?? undefined;
    });
  }

  /**
   * Which of these type OIDs carry plain text in both wire formats (string and enum categories: citext,
   * domains over text, enums), for pgRowMasker's `stringTypeOids`. Cached like columns.
   */
  async stringTypes(typeOids: readonly number[]): Promise<Set<number>> {
    const got = new Set<number>();
    const unknown: number[] = [];
    const now = this.now();
    for (const oid of new Set(typeOids)) {
      const hit = this.types.get(oid);
      if (hit && now - hit.at <= this.ttlMs) {
        if (hit.textual) got.add(oid);
      } else if (oid !== 0) unknown.push(oid);
    }
    if (unknown.length === 0) return got;
    let rows: { oid: string; textual: boolean }[];
    try {
      rows = await this.sql<{ oid: string; textual: boolean }[]>`
        select t.oid::int8::text as oid, t.typcategory in ('S', 'E') and t.typelem = 0 as textual
        from pg_type t where t.oid = any(${unknown}::oid[])`;
    } catch (err) {
      throw new CustosError("upstream.unreachable", "column catalog lookup failed", {
        error: err instanceof Error ? err.message : String(err),
      });
    }
    // Types are few (built-ins and a schema's own); the bound only guards against a pathological upstream.
    if (this.types.size > this.maxEntries) this.types.clear();
    for (const r of rows) {
      this.types.set(Number(r.oid), { textual: r.textual, at: now });
      if (r.textual) got.add(Number(r.oid));
    }
    return got;
  }

  /**
   * The output columns of a query, as a RowDescription would give them (Parse and Describe on the catalog
   * connection; nothing executes): how a COPY's rows are masked before the COPY runs.
   */
  async describeQuery(
    query: string,
  ): Promise<{ name: string; tableOid: number; column: number; typeOid: number; format: number }[]> {
    let columns: { name: string; table: number; number: number; type: number }[];
    try {
      const described = await this.sql.unsafe(query).describe();
      columns = (described.columns ?? []) as unknown as typeof columns;
    } catch (err) {
      // The server's message names relations and columns, never row values (nothing ran).
      throw new CustosError("policy.unavailable", "the COPY's columns could not be learned for masking", {
        error: err instanceof Error ? err.message : String(err),
      });
    }
    return columns.map((c) => ({
      name: c.name,
      tableOid: c.table,
      column: c.number,
      typeOid: c.type,
      format: 0,
    }));
  }

  get size(): number {
    return this.cache.size;
  }

  /** The catalog connection itself, for the statement resolver and the classification scan (same account). */
  get client(): postgres.Sql {
    return this.sql;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 2 });
  }

  /** `schema.name` of a function by OID (a fast-path FunctionCall names only the OID); null when none. */
  async functionName(oid: number): Promise<string | null> {
    const hit = this.functions.get(oid);
    if (hit && this.now() - hit.at <= this.ttlMs) return hit.name;
    const rows = await this.sql<{ name: string }[]>`
      select quote_ident(n.nspname) || '.' || quote_ident(p.proname) as name
        from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
       where p.oid = ${oid}::oid`;
    const name = rows[0]?.name ?? null;
    if (this.functions.size >= 1024) this.functions.clear();
    this.functions.set(oid, { name, at: this.now() });
    return name;
  }

  private cached(k: string): Entry | undefined {
    const e = this.cache.get(k);
    if (e && this.now() - e.at > this.ttlMs) {
      this.cache.delete(k);
      return undefined;
    }
    return e;
  }

  private put(k: string, source: SourceColumn | null, got: Map<string, SourceColumn | null>): void {
    got.set(k, source);
    this.cache.delete(k);
    if (this.cache.size >= this.maxEntries) {
      // Map iteration order is insertion order: the first key is the oldest entry.
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(k, { source, at: this.now() });
  }

  private async load(
    fields: readonly { tableOid: number; column: number }[],
    depth: number,
    got: Map<string, SourceColumn | null>,
  ): Promise<void> {
    const oids: number[] = [];
    const nums: number[] = [];
    const seen = new Set<string>();
    for (const f of fields) {
      if (f.tableOid === 0 || f.column <= 0) continue;
      const k = key(f.tableOid, f.column);
      if (seen.has(k) || got.has(k)) continue;
      const hit = this.cached(k);
      if (hit) {
        got.set(k, hit.source);
        continue;
      }
      seen.add(k);
      oids.push(f.tableOid);
      nums.push(f.column);
    }
    if (oids.length === 0) return;
    let rows: CatalogRow[];
    try {
      rows = await this.sql<CatalogRow[]>`
        select c.oid::int8::text as relid, a.attnum::int as attnum, n.nspname, c.relname, a.attname,
               case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end as viewdef
        from unnest(${oids}::oid[], ${nums}::int2[]) as k(relid, attnum)
        join pg_class c on c.oid = k.relid
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = k.relid and a.attnum = k.attnum and not a.attisdropped`;
    } catch (err) {
      throw new CustosError("upstream.unreachable", "column catalog lookup failed", {
        error: err instanceof Error ? err.message : String(err),
      });
    }
    const views = new Map<string, { def: string; rows: CatalogRow[] }>();
    for (const r of rows) {
      const own = { schema: r.nspname, table: r.relname, column: r.attname };
      this.put(key(Number(r.relid), r.attnum), own, got);
      if (r.viewdef !== null && depth < this.maxViewDepth) {
        const v = views.get(r.relid) ?? { def: r.viewdef, rows: [] };
        v.rows.push(r);
        views.set(r.relid, v);
      }
    }
    // Pairs the catalog does not know (a dropped table) are cached as unresolved.
    for (let i = 0; i < oids.length; i++) {
      const k = key(oids[i]!, nums[i]!);
      if (!got.has(k)) this.put(k, null, got);
    }
    for (const v of views.values()) await this.resolveView(v.def, v.rows, depth, got);
  }

  private async resolveView(
    def: string,
    rows: CatalogRow[],
    depth: number,
    got: Map<string, SourceColumn | null>,
  ): Promise<void> {
    let columns: readonly { table: number; number: number }[];
    try {
      const described = await this.sql.unsafe(def).describe();
      columns = (described.columns ?? []) as unknown as { table: number; number: number }[];
    } catch {
      return; // keep the view's own columns: rules naming the view and the output-name fallback apply
    }
    const under = rows
      .map((r) => ({ r, c: columns[r.attnum - 1] }))
      .filter((x) => x.c !== undefined && x.c.table !== 0 && x.c.number > 0);
    await this.load(
      under.map((x) => ({ tableOid: x.c!.table, column: x.c!.number })),
      depth + 1,
      got,
    );
    for (const { r, c } of under) {
      const base = got.get(key(c!.table, c!.number));
      if (base) this.put(key(Number(r.relid), r.attnum), base, got);
    }
  }
}
