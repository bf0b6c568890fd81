// What bench/run measures, full and quick. Each scenario runs against every target in alternating order;
// --quick runs every scenario one of issue 23's goals is judged on, against only the targets its goal
// compares (`judgedOn`), so that it stays under 3 minutes.
import type { PgbenchSpec } from "./pgbench.ts";
import type { TargetName } from "./targets.ts";

export interface Scenario {
  id: string;
  label: string;
  /** Unit of the rate column. */
  unit: "TPS" | "conn/s";
  spec: Omit<PgbenchSpec, "seconds">;
  /** Left out of --quick unless named with --only (keeps bench/run --quick under 3 minutes). */
  notQuick?: boolean;
  /** The targets its goal compares: all that --quick runs it against. Absent: every target. */
  judgedOn?: readonly TargetName[];
}

const selectOnly = (mode: "simple" | "extended" | "prepared", clients: number): Scenario => ({
  id: `select-${mode}-${clients}`,
  label: `select-only ${mode}, ${clients} client${clients === 1 ? "" : "s"}`,
  unit: "TPS",
  spec: { args: ["-S", "-M", mode], clients },
  // 8 clients: against the relay, PgBouncer and the CPU per statement; 1 client: added p50 over direct.
  judgedOn: clients === 1 ? ["direct", "relay", "custos"] : ["pgbouncer", "relay", "custos"],
});
const WRITES: readonly TargetName[] = ["direct", "custos"];
const CUSTOS_ONLY: readonly TargetName[] = ["custos"];

export interface ScenarioScripts {
  wide: string;
  insert: string;
  pipeline: string;
}

export function scenarios(quick: boolean, scripts: ScenarioScripts): Scenario[] {
  const wideScript = scripts.wide;
  const select = quick
    ? [selectOnly("simple", 1), selectOnly("simple", 8), selectOnly("extended", 8), selectOnly("prepared", 8)]
    : (["simple", "extended", "prepared"] as const).flatMap((m) => [1, 8, 64].map((c) => selectOnly(m, c)));
  return [
    ...select,
    {
      id: "tpcb-8",
      judgedOn: WRITES,
      label: "TPC-B-like (writes), 8 clients",
      unit: "TPS",
      spec: { args: ["-M", "simple"], clients: 8 },
    },
    {
      id: "insert-simple-1",
      judgedOn: WRITES,
      label: "autocommit INSERT simple, 1 client",
      unit: "TPS",
      spec: { args: ["-M", "simple", "-f", scripts.insert], clients: 1 },
    },
    {
      id: "insert-extended-1",
      judgedOn: WRITES,
      label: "autocommit INSERT extended, 1 client",
      unit: "TPS",
      spec: { args: ["-M", "extended", "-f", scripts.insert], clients: 1 },
    },
    {
      id: "pipeline-50-1",
      judgedOn: WRITES,
      label: "pipeline of 50 INSERTs + 1 Sync, 1 client",
      unit: "TPS",
      spec: { args: ["-M", "extended", "-f", scripts.pipeline], clients: 1 },
    },
    {
      id: "wide-unmasked-8",
      judgedOn: CUSTOS_ONLY,
      label: "1,000 wide rows (service, unmasked), 8 clients",
      unit: "TPS",
      spec: { args: ["-M", "extended", "-f", wideScript], clients: 8 },
    },
    {
      id: "wide-8",
      judgedOn: CUSTOS_ONLY,
      label: "1,000 wide rows (agent), 8 clients",
      unit: "TPS",
      spec: { args: ["-M", "extended", "-f", wideScript], clients: 8, asAgent: true },
    },
    {
      id: "connect-4",
      // Not one of issue 23's goals (connection set-up is issue 8's): full runs only.
      notQuick: true,
      label: "connect+auth+1 query+disconnect, 4 clients",
      unit: "conn/s",
      spec: { args: ["-S", "-M", "simple", "-C"], clients: 4 },
    },
  ];
}

/** The targets a scenario runs against: all of them in a full run, those its goal compares in --quick. */
export function targetsFor<T extends { name: TargetName }>(
  sc: Scenario,
  all: readonly T[],
  quick: boolean,
): T[] {
  return quick && sc.judgedOn ? all.filter((t) => sc.judgedOn!.includes(t.name)) : [...all];
}

/** Round r visits the targets forwards on even rounds and backwards on odd ones, so drift cancels out. */
export function order<T>(targets: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...targets] : [...targets].reverse();
}
