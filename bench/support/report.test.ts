import { describe, expect, test } from "bun:test";
import { cell, checks, ratio, type ScenarioResult, table } from "./report.ts";
import { order, scenarios } from "./scenarios.ts";

const sc = (id: string) =>
  scenarios(false, { wide: "/w.sql", insert: "/i.sql", pipeline: "/p.sql" }).find((s) => s.id === id)!;
const fig = (rate: number, latUs: number) => ({
  rounds: [rate * 0.9, rate * 1.1],
  failed: 0,
  latenciesUs: [latUs],
});

describe("scenarios", () => {
  test("full mode covers 3 protocols x 1/8/64 clients, TPC-B, wide rows and connection rate", () => {
    const ids = scenarios(false, { wide: "/w.sql", insert: "/i.sql", pipeline: "/p.sql" }).map((s) => s.id);
    for (const m of ["simple", "extended", "prepared"])
      for (const c of [1, 8, 64]) expect(ids).toContain(`select-${m}-${c}`);
    expect(ids).toContain("tpcb-8");
    expect(ids).toContain("wide-8");
    expect(ids).toContain("connect-4");
    for (const id of ["insert-simple-1", "insert-extended-1", "pipeline-50-1", "wide-unmasked-8"]) {
      expect(ids).toContain(id);
      expect(sc(id).notQuick).toBe(true);
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

  test("checks judge each target of issues 8 and 2, and say 'not measured' rather than pass", () => {
    const cs = checks(results, 150);
    const by = (s: string) => cs.find((c) => c.what.startsWith(s))!;
    expect(by("select-only simple, 8 clients: Custos/direct ≥ 0.80").ok).toBe(true);
    expect(by("select-only simple, 8 clients: Custos/PgBouncer ≥ 1.30").ok).toBe(true);
    expect(by("select-only extended, 8 clients: Custos/direct ≥ 0.80").ok).toBe(false);
    expect(by("select-only simple, 1 client: added p50").value).toBe("130 µs");
    expect(by("select-only simple, 1 client: added p50").ok).toBe(false);
    expect(by("TPC-B-like").ok).toBe(true);
    expect(by("idle session").ok).toBe(true);
    expect(checks([], null).every((c) => c.ok === null)).toBe(true);
    expect(checks(results, 250).find((c) => c.what.startsWith("idle"))!.ok).toBe(false);
  });
});
