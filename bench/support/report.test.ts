import { describe, expect, test } from "bun:test";
import { cell, checkLines, checks, httpChecks, ratio, type ScenarioResult, table } from "./report.ts";
import { begin, end } from "./results-md.ts";
import { order, scenarios, targetsFor } from "./scenarios.ts";
import { fromResultsMd, fromSoakFile } from "./soak-last.ts";
import type { TargetName } from "./targets.ts";

const sc = (id: string) =>
  scenarios(false, { wide: "/w.sql", insert: "/i.sql", pipeline: "/p.sql" }).find((s) => s.id === id)!;
const fig = (rate: number, latUs: number) => ({
  rounds: [rate * 0.9, rate * 1.1],
  failed: 0,
  latenciesUs: [latUs],
});

describe("scenarios", () => {
  test("full mode covers 3 protocols x 1/8/64 clients, TPC-B, writes, wide rows and connection rate", () => {
    const ids = scenarios(false, { wide: "/w.sql", insert: "/i.sql", pipeline: "/p.sql" }).map((s) => s.id);
    for (const m of ["simple", "extended", "prepared"])
      for (const c of [1, 8, 64]) expect(ids).toContain(`select-${m}-${c}`);
    expect(ids).toContain("tpcb-8");
    expect(ids).toContain("wide-8");
    expect(ids).toContain("connect-4");
    for (const id of ["insert-simple-1", "insert-extended-1", "pipeline-50-1", "wide-unmasked-8"]) {
      expect(ids).toContain(id);
      expect(sc(id).notQuick).toBeUndefined();
    }
    expect(sc("wide-unmasked-8").spec.asAgent).toBeUndefined();
    expect(scenarios(true, { wide: "/w.sql", insert: "/i.sql", pipeline: "/p.sql" }).length).toBeLessThan(
      ids.length,
    );
    expect(sc("wide-8").spec.asAgent).toBe(true);
    expect(sc("wide-8").spec.args).toContain("/w.sql");
  });

  test("targets alternate: forwards on even rounds, backwards on odd", () => {
    expect(order(["a", "b", "c"], 0)).toEqual(["a", "b", "c"]);
    expect(order(["a", "b", "c"], 1)).toEqual(["c", "b", "a"]);
  });
});

describe("report", () => {
  const results: ScenarioResult[] = [
    {
      scenario: sc("select-simple-8"),
      targets: {
        direct: fig(10000, 100),
        pgbouncer: fig(6000, 150),
        relay: fig(9000, 110),
        custos: fig(8500, 120),
      },
    },
    {
      scenario: sc("select-extended-8"),
      targets: { direct: fig(10000, 100), pgbouncer: fig(6000, 150), custos: fig(7000, 130) },
    },
    { scenario: sc("select-simple-1"), targets: { direct: fig(5000, 50), custos: fig(4000, 180) } },
    { scenario: sc("tpcb-8"), targets: { direct: fig(800, 9000), custos: fig(600, 12000) } },
  ];

  test("a cell is the mean over rounds with p50/p99 in ms; ratios divide rates", () => {
    const c = cell(results[0]!.targets.custos)!;
    expect(c.rate).toBeCloseTo(8500);
    expect(c.p50Ms).toBeCloseTo(0.12);
    expect(ratio(c, cell(results[0]!.targets.direct))).toBeCloseTo(0.85);
    expect(ratio(c, undefined)).toBeNaN();
    expect(cell(undefined)).toBeUndefined();
  });

  test("the table has one row per scenario with every ratio, and a dash for a missing target", () => {
    const t = table(results);
    expect(t).toContain(
      "| select-only simple, 8 clients | TPS | 10,000 (0.100 / 0.100) | 6,000 (0.150 / 0.150) | 9,000 (0.110 / 0.110) | 8,500 (0.120 / 0.120) | 0.85 | 1.42 | 0.90 | 0.94 |",
    );
    expect(t).toContain(
      "| TPC-B-like (writes), 8 clients | TPS | 800 (9.00 / 9.00) | – | – | 600 (12.0 / 12.0) | 0.75 | – | – | – |",
    );
  });

  test("checks judge issue 23's goals, and say 'not measured' rather than pass", () => {
    const cs = checks(results);
    const by = (s: string) => cs.filter((c) => c.what.startsWith(s));
    // 8,500 / 9,000 = 0.94 of the relay: met; 8,500 / 6,000 over PgBouncer: met.
    expect(by("select-only simple, 8 clients: Custos / bare relay ≥ 0.9")[0]!.ok).toBe(true);
    expect(by("select-only simple, 8 clients: Custos / PgBouncer ≥ 1.0")[0]!.ok).toBe(true);
    // extended has no relay figure: not measured, never a pass.
    expect(by("select-only extended, 8 clients: Custos / bare relay")[0]!.ok).toBeNull();
    expect(by("select-only extended, 8 clients: Custos / PgBouncer")[0]!.value).toBe("1.17");
    // 1 client: Custos adds 130 µs, the relay is absent: not measured.
    expect(by("select-only simple, 1 client")[0]!.ok).toBeNull();
    // TPC-B 600 / 800 = 0.75 ≥ 0.7.
    expect(by("TPC-B-like")[0]!.ok).toBe(true);
    expect(by("soak")[0]!.ok).toBeNull();
    expect(checks([]).every((c) => c.ok === null)).toBe(true);
  });

  test("CPU per statement, added latency, writes and wide rows are judged on their own figures", () => {
    const tally = (us: number, tx: number) => ({
      micros: new Map([
        ["bun", us * tx * 0.8],
        ["Worker", us * tx * 0.2],
      ]),
      transactions: tx,
    });
    const rs: ScenarioResult[] = [
      {
        scenario: sc("select-extended-8"),
        targets: { pgbouncer: fig(6000, 150), relay: fig(9000, 110), custos: fig(8000, 120) },
        cpu: { relay: tally(15, 1000), custos: tally(45, 1000) },
      },
      {
        scenario: sc("select-prepared-8"),
        targets: { pgbouncer: fig(6000, 150), relay: fig(9000, 110), custos: fig(8000, 120) },
        cpu: { relay: tally(15, 1000), custos: tally(29, 1000) },
      },
      {
        scenario: sc("select-simple-1"),
        targets: { direct: fig(5000, 100), relay: fig(4000, 140), custos: fig(3500, 150) },
      },
      { scenario: sc("insert-simple-1"), targets: { direct: fig(1000, 900), custos: fig(790, 1200) } },
      { scenario: sc("insert-extended-1"), targets: { direct: fig(1000, 900), custos: fig(810, 1200) } },
      { scenario: sc("pipeline-50-1"), targets: { direct: fig(100, 9000), custos: fig(52, 12000) } },
      { scenario: sc("wide-unmasked-8"), targets: { custos: fig(100, 9000) } },
      { scenario: sc("wide-8"), targets: { custos: fig(81, 9000) }, peakRssKb: 151 * 1024 },
    ];
    const cs = checks(rs, {
      http: null,
      soak: { ok: true, date: "2026-12-02T06:00:00Z", commit: "abc", summary: "x" },
    });
    const by = (s: string) => cs.find((c) => c.what.startsWith(s))!;
    expect(by("select-only extended, 8 clients: gateway CPU")).toMatchObject({
      ok: false,
      value: "45 µs vs 15 µs (3.0×)",
    });
    expect(by("select-only prepared, 8 clients: gateway CPU").ok).toBe(true);
    // Custos adds 50 µs, the relay 40: limit 60 µs.
    expect(by("select-only simple, 1 client")).toMatchObject({
      ok: true,
      value: "Custos +50 µs, relay +40 µs (limit 60 µs)",
    });
    expect(by("autocommit INSERT simple")).toMatchObject({
      ok: false,
      residual: "custos p50 1.20 ms; direct p50 0.900 ms",
    });
    expect(by("autocommit INSERT extended").ok).toBe(true);
    expect(by("pipeline of 50").ok).toBe(true);
    expect(by("1,000 wide rows, 8 clients: masked")).toMatchObject({ ok: true, value: "0.81" });
    expect(by("1,000 masked wide rows, 8 clients: Custos RSS peak")).toMatchObject({
      ok: false,
      value: "151 MB",
    });
    expect(by("soak").ok).toBe(true);
    const lines = checkLines(cs);
    expect(lines).toContain(
      "- **missed**: select-only extended, 8 clients: gateway CPU per statement (all threads) ≤ 2× the bare relay's — 45 µs vs 15 µs (3.0×) (residual: Custos **45 µs** (bun 36, Worker 9); relay **15 µs** (bun 12, Worker 3))",
    );
    expect(lines).toContain("- met: autocommit INSERT extended, 1 session: Custos / direct ≥ 0.8 — 0.81");
  });

  test("the relay adding nothing leaves a limit of zero, not a free pass", () => {
    const rs: ScenarioResult[] = [
      {
        scenario: sc("select-simple-1"),
        targets: { direct: fig(5000, 100), relay: fig(5000, 95), custos: fig(4000, 101) },
      },
    ];
    expect(checks(rs).find((c) => c.what.startsWith("select-only simple, 1 client"))!.ok).toBe(false);
  });

  test("--quick runs every scenario a goal reads, against enough targets for every non-HTTP goal", () => {
    // As bench/run picks them: --quick leaves out the notQuick ones.
    const quick = scenarios(true, { wide: "/w.sql", insert: "/i.sql", pipeline: "/p.sql" }).filter(
      (s) => !s.notQuick,
    );
    const all = ["direct", "pgbouncer", "relay", "custos"].map((name) => ({ name }) as { name: TargetName });
    const tally = { micros: new Map([["bun", 1000]]), transactions: 100 };
    const rs: ScenarioResult[] = quick.map((s) => {
      const on = targetsFor(s, all, true).map((t) => t.name);
      return {
        scenario: s,
        targets: Object.fromEntries(on.map((t) => [t, fig(1000, t === "custos" ? 300 : 100)])),
        cpu: Object.fromEntries(on.map((t) => [t, tally])),
        peakRssKb: 100_000,
      };
    });
    const unjudged = checks(rs).filter(
      (c) => c.ok === null && !c.what.startsWith("HTTP") && !c.what.startsWith("soak"),
    );
    expect(unjudged.map((c) => c.what)).toEqual([]);
    expect(quick.map((s) => s.id)).not.toContain("connect-4");
    expect(targetsFor(sc("tpcb-8"), all, true).map((t) => t.name)).toEqual(["direct", "custos"]);
    expect(targetsFor(sc("tpcb-8"), all, false)).toHaveLength(4);
  });
});

describe("HTTP goals from bench/http/run.ts's output", () => {
  const out = [
    "| max throughput, 16 VUs | direct | 16000 | 0.6 | 2.8 | 5.4 | 0.00% | – |",
    "- custos (human), max throughput: **0.85 of the bare relay** (goal ≥ 0.8: met); 0.50 of direct (bare relay 0.60 of direct)",
    "- custos (agent, masked), max throughput: **0.55 of the bare relay** (goal ≥ 0.8: missed); 0.33 of direct (bare relay 0.60 of direct)",
    "- custos (human), fixed 2000 rps: added over direct p50 **+0.48 ms**, p99 **+1.50 ms** (goal ≤ 2 ms: met); bare relay adds p50 +0.10, p99 +0.20 ms",
    "- custos (agent, masked), fixed 2000 rps: added over direct p50 **+0.48 ms**, p99 **+6.46 ms** (goal ≤ 2 ms: not judged, see below); bare relay adds p50 +0.10, p99 +0.20 ms; **the rate was not sustained by every target** (dropped arrivals or < 97% of 2000 rps; direct too, so k6 itself fell behind on this machine)",
  ].join("\n");

  test("each goal line becomes a check; an unsustained rate is not judged, a missing mode not measured", () => {
    const cs = httpChecks(out);
    expect(cs.map((c) => c.ok)).toEqual([true, true, false, null]);
    expect(cs[2]!.value).toBe("0.55");
    expect(cs[3]!.value).toBe("not judged: k6 did not sustain the rate against direct");
    expect(checkLines([cs[3]!])).toStartWith(
      "- not judged: HTTP (k6), custos (agent, masked), fixed 2,000 rps",
    );
    const maxOnly = httpChecks(
      out
        .split("\n")
        .filter((l) => !l.includes("fixed"))
        .join("\n"),
    );
    expect(maxOnly.filter((c) => c.ok === null).map((c) => c.value)).toEqual(["–", "–"]);
    expect(httpChecks(null).every((c) => c.ok === null)).toBe(true);
    expect(
      httpChecks("**failed** — `bun bench/http/run.ts 4 1` exited 1: boom").every((c) => c.ok === null),
    ).toBe(true);
  });
});

describe("the last soak's verdict", () => {
  test("from bench/out/soak-last.json, the failed checks named", () => {
    const s = fromSoakFile(
      JSON.stringify({
        date: "2026-12-02T06:03:00Z",
        commit: "0123456789abcdef",
        ok: false,
        checks: [
          { name: "RSS flat", ok: false, detail: "+19.1%" },
          { name: "no errors", ok: true, detail: "0" },
        ],
      }),
    )!;
    expect(s).toEqual({
      ok: false,
      date: "2026-12-02T06:03:00Z",
      commit: "0123456789ab",
      summary: "RSS flat failed: +19.1%",
    });
    expect(fromSoakFile("{}")).toBeNull();
  });

  test("from the generated section of bench/RESULTS.md when no file is left", () => {
    const doc = [
      "# x",
      begin("soak"),
      "## Soak: 1000 concurrent sessions for 10 min",
      "",
      "2026-12-02T03:22:24Z · commit cd6b725f5b63 · 2 cores",
      "",
      "**Verdict: FAIL** — RSS grows; no errors.",
      end("soak"),
      "**Verdict: pass**",
    ].join("\n");
    expect(fromResultsMd(doc)).toEqual({
      ok: false,
      date: "2026-12-02T03:22:24Z",
      commit: "cd6b725f5b63",
      summary: "RSS grows; no errors.",
    });
    expect(fromResultsMd("**Verdict: pass**")).toBeNull();
  });
});
