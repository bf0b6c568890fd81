// `custos policy build|test|eval`: compile the Rego pack to WASM, run its tests, and print the decision
// for one input (authors give just the SQL; it is classified here as the gateway would).

import { existsSync, statSync } from "node:fs";
import { relative, resolve } from "node:path";
import { createLogger } from "../core/log.ts";
import { readBundleFile } from "../policy/bundle.ts";
import { PolicyEngine } from "../policy/engine.ts";
import {
  buildBundle,
  DEFAULT_BUNDLE,
  DEFAULT_POLICY_DIR,
  newestSource,
  testPolicies,
} from "../policy/opa.ts";
import { SHIPPED_BUNDLE } from "../policy/shipped.ts";
import { analyseSources, describeVolatility } from "../policy/volatility.ts";
import { createSqlClassifier } from "../sql/classifier.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";
import {
  GATEWAY_INPUT_FLAGS,
  GATEWAY_INPUT_USAGE,
  gatewayInput,
  policyCheckCommand,
  policyClassifyCommand,
  policyFmtCommand,
} from "./policy-author.ts";
import { policyExplainCommand } from "./policy-explain.ts";

function failure(err: unknown): never {
  throw new CliError(err instanceof Error ? err.message : String(err));
}

export const policyBuildCommand: CliCommand = {
  name: "policy build",
  summary: "compile Rego policies to the WASM bundle the gateway loads",
  usage: `custos policy build [DIR] [--output FILE | --dist]

Compiles DIR (default policy/) with opa build -t wasm -e custos/decision into FILE
(default policy/build/bundle.tar.gz). Installs the pinned opa on first use.
--dist refreshes the shipped default pack, policy/dist/default-bundle.tar.gz, from policy/
(commit it with the Rego change; test/policy/shipped-bundle.test.ts checks they agree).`,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { output: "string", dist: "boolean" });
    if (flags.dist === true && (flags.output !== undefined || positionals.length > 0)) {
      throw new CliError("--dist builds policy/ into policy/dist; it takes no DIR or --output", 2);
    }
    const dir = resolve(positionals[0] ?? DEFAULT_POLICY_DIR);
    const output =
      flags.dist === true ? SHIPPED_BUNDLE : resolve((flags.output as string | undefined) ?? DEFAULT_BUNDLE);
    try {
      buildBundle(dir, output);
      // What the gateway will make of the rules' inputs (the same analysis runs when it loads the bundle).
      const cache = describeVolatility(analyseSources((await readBundleFile(output)).sources));
      process.stderr.write(`decision cache: ${cache}\n`);
    } catch (err) {
      failure(err);
    }
    process.stdout.write(`${output}\n`);
    return 0;
  },
};

export const policyTestCommand: CliCommand = {
  name: "policy test",
  summary: "run the Rego unit tests (opa test)",
  usage: `custos policy test [DIR] [--verbose] [--coverage [--json]]

Runs opa test on DIR (default policy/); exits non-zero when a test fails. --coverage prints the share of
each rule file's lines the tests evaluate and the lines they never reach (opa test --coverage); --json
prints opa's coverage report as it is.`,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, {
      verbose: "boolean",
      coverage: "boolean",
      json: "boolean",
    });
    const dir = resolve(positionals[0] ?? DEFAULT_POLICY_DIR);
    if (flags.coverage === true) {
      const run = testPolicies(dir, false, true);
      if (run.exitCode !== 0 && !run.stdout.trimStart().startsWith("{")) {
        process.stderr.write(run.stderr || run.stdout);
        return run.exitCode;
      }
      process.stdout.write(flags.json === true ? run.stdout : coverageSummary(run.stdout, dir));
      process.stderr.write(run.stderr);
      return run.exitCode;
    }
    const run = testPolicies(dir, flags.verbose === true);
    process.stdout.write(run.stdout);
    process.stderr.write(run.stderr);
    return run.exitCode;
  },
};

export const policyEvalCommand: CliCommand = {
  name: "policy eval",
  summary: "print the policy decision for one input",
  usage: `custos policy eval (--input FILE | --config FILE --connection C --sql TEXT …) [--bundle FILE] [--show-input]

Evaluates data.custos.decision for the JSON input in FILE and prints the decision.
Without --bundle, uses policy/build/bundle.tar.gz, rebuilding it when policy/ is newer.
When command.text is given without command.statements, the SQL is classified first.
${GATEWAY_INPUT_USAGE}
  --show-input            print the input evaluated before the decision`,
  async run(argv) {
    const { flags } = parseFlags(argv, {
      input: "string",
      bundle: "string",
      "show-input": "boolean",
      ...GATEWAY_INPUT_FLAGS,
    });
    if (typeof flags.input !== "string" && typeof flags.config !== "string")
      throw new CliError("policy eval needs --input FILE, or --config FILE --connection C --sql TEXT", 2);
    if (typeof flags.input === "string" && typeof flags.config === "string")
      throw new CliError("policy eval takes --input FILE or --config FILE, not both", 2);
    let input: Record<string, unknown>;
    try {
      input =
        typeof flags.config === "string"
          ? ((await gatewayInput(flags)) as unknown as Record<string, unknown>)
          : JSON.parse(await Bun.file(resolve(flags.input as string)).text());
    } catch (err) {
      if (err instanceof CliError) throw err;
      failure(
        new Error(`cannot read input ${flags.input}: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      throw new CliError("the input must be a JSON object");
    }
    let bundle = typeof flags.bundle === "string" ? resolve(flags.bundle) : DEFAULT_BUNDLE;
    if (typeof flags.bundle !== "string") {
      const stale = !existsSync(bundle) || statSync(bundle).mtimeMs < newestSource(DEFAULT_POLICY_DIR);
      if (stale) {
        try {
          bundle = buildBundle(DEFAULT_POLICY_DIR, bundle);
        } catch (err) {
          failure(err);
        }
      }
    }
    const command = input.command as Record<string, unknown> | undefined;
    if (command && typeof command.text === "string" && command.statements === undefined) {
      const classification = (await createSqlClassifier()).classify(command.text);
      if (classification.error !== undefined) {
        process.stdout.write(
          `${JSON.stringify({ action: "deny", reason: "unparseable", rule: "custos.unparseable", error: classification.error }, null, 2)}\n`,
        );
        return 0;
      }
      command.statements = classification.statements.map((s) => ({ ...s, table_labels: {} }));
    }
    const engine = new PolicyEngine({ logger: createLogger("warn") });
    const loaded = await engine.load(bundle);
    if (!loaded.ok) failure(loaded.error);
    // The input is the author's, not built by input.ts: evaluate it as given.
    if (flags["show-input"] === true) process.stdout.write(`${JSON.stringify(input, null, 2)}\n`);
    const decision = engine.evaluate(new TextEncoder().encode(JSON.stringify(input)).buffer as ArrayBuffer);
    process.stdout.write(`${JSON.stringify({ ...decision, bundle: loaded.hash }, null, 2)}\n`);
    return 0;
  },
};

/** opa's coverage report as a table: each rule file (tests left out), its share, and lines never reached. */
function coverageSummary(json: string, dir: string): string {
  const report = JSON.parse(json) as {
    coverage?: number;
    files?: Record<
      string,
      { coverage?: number; not_covered?: { start: { row: number }; end: { row: number } }[] }
    >;
  };
  const rows = Object.entries(report.files ?? {})
    .filter(([path]) => !path.endsWith("_test.rego"))
    .sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(4, ...rows.map(([p]) => relative(dir, p).length));
  const lines = rows.map(([path, f]) => {
    const missed = [
      ...new Set(
        (f.not_covered ?? []).map((r) =>
          r.start.row === r.end.row ? `${r.start.row}` : `${r.start.row}-${r.end.row}`,
        ),
      ),
    ];
    return `${relative(dir, path).padEnd(width)}  ${(f.coverage ?? 100).toFixed(1).padStart(5)}%${missed.length ? `  not reached: ${missed.join(", ")}` : ""}`;
  });
  return `${[...lines, `${"all".padEnd(width)}  ${(report.coverage ?? 100).toFixed(1).padStart(5)}%`].join("\n")}\n`;
}

export const policyCommands: CliCommand[] = [
  policyBuildCommand,
  policyTestCommand,
  policyEvalCommand,
  policyExplainCommand,
  policyClassifyCommand,
  policyFmtCommand,
  policyCheckCommand,
];
