// Holds the loaded policy (OPA's WASM module) and evaluates it synchronously. A bundle is swapped in only
// once it has compiled, loaded its data and evaluated once; a bundle that fails keeps the old one. With
// no bundle, or when evaluation throws, every decision is a deny: the engine fails closed.

import { type LoadedPolicy, loadPolicy } from "@open-policy-agent/opa-wasm";
import { deny } from "../core/decision.ts";
import { asCustosError, type CustosError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { type PolicyBundle, readBundleFile } from "./bundle.ts";
import { decisionFromResultSet, type PolicyDecision } from "./decision-output.ts";
import type { PolicyInput } from "./input.ts";
import { analyseSources, describeVolatility, STABLE, type Volatility } from "./volatility.ts";

export const ENTRYPOINT = "custos/decision";
export const NO_POLICY = "custos.no_policy";
export const POLICY_ERROR = "custos.policy_error";

export type ReloadResult = { ok: true; hash: string } | { ok: false; error: CustosError };

export interface EngineOptions {
  logger: Logger;
  entrypoint?: string;
  /** Upper bound of the policy's WASM memory, in 64 KiB pages. Default 1024 (64 MiB). */
  maxMemoryPages?: number;
}

interface Loaded {
  policy: LoadedPolicy;
  entrypoint: number;
  hash: string;
  volatility: Volatility;
}

const NO_POLICY_DECISION: PolicyDecision = Object.freeze({
  ...deny("no policy bundle is loaded", NO_POLICY),
  cache: false,
});

export class PolicyEngine {
  private current: Loaded | undefined;
  private path: string | undefined;
  private pending: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<(hash: string) => void>();
  private readonly entrypoint: string;
  private readonly maxPages: number;
  private readonly logger: Logger;

  constructor(options: EngineOptions) {
    this.logger = options.logger;
    this.entrypoint = options.entrypoint ?? ENTRYPOINT;
    this.maxPages = options.maxMemoryPages ?? 1024;
  }

  /** SHA-256 of the loaded bundle, or null when none is loaded. */
  get hash(): string | null {
    return this.current?.hash ?? null;
  }

  /** What the loaded bundle's rules read beyond the decision cache's key (volatility.ts). */
  get volatility(): Volatility {
    return this.current?.volatility ?? STABLE;
  }

  /** Called after every successful swap (the decider drops its cache). */
  onSwap(listener: (hash: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Loads a bundle file (remembered for `reload()`) or an already-read bundle. Serialized: one at a time. */
  load(source: string | PolicyBundle): Promise<ReloadResult> {
    const run = this.pending.then(() => this.swap(source));
    this.pending = run;
    return run;
  }

  /** Reloads the last bundle path given to `load`. */
  reload(): Promise<ReloadResult> {
    if (!this.path) {
      return Promise.resolve({
        ok: false,
        error: asCustosError(new Error("no bundle path to reload"), "policy.unavailable"),
      });
    }
    return this.load(this.path);
  }

  private async swap(source: string | PolicyBundle): Promise<ReloadResult> {
    const from = typeof source === "string" ? source : "(in memory)";
    try {
      if (typeof source === "string") this.path = source;
      const bundle = typeof source === "string" ? await readBundleFile(source) : source;
      const policy = await loadPolicy(bundle.wasm, { initial: 5, maximum: this.maxPages });
      const entrypoint = (policy.entrypoints as Record<string, number>)[this.entrypoint];
      if (entrypoint === undefined) {
        throw asCustosError(
          new Error(`bundle has no entrypoint ${this.entrypoint} (build with -e ${this.entrypoint})`),
          "policy.unavailable",
        );
      }
      policy.setData(bundle.data as object);
      policy.evaluate({}, entrypoint); // a module that traps on a trivial input is refused, not swapped in
      const previous = this.current?.hash ?? null;
      const volatility = analyseSources(bundle.sources);
      this.current = { policy, entrypoint, hash: bundle.hash, volatility };
      this.logger.info("policy bundle loaded", {
        bundle: bundle.hash,
        previous,
        path: from,
        decisionCache: describeVolatility(volatility),
      });
      for (const listener of this.listeners) listener(bundle.hash);
      return { ok: true, hash: bundle.hash };
    } catch (err) {
      const error = asCustosError(err, "policy.unavailable");
      this.logger.error("policy bundle refused; keeping the previous one", {
        path: from,
        error: error.message,
        kept: this.current?.hash ?? null,
      });
      return { ok: false, error };
    }
  }

  /** Evaluates `data.custos.decision`. Never throws: no bundle or any failure is a deny. */
  evaluate(input: PolicyInput | ArrayBuffer): PolicyDecision {
    const loaded = this.current;
    if (!loaded) return NO_POLICY_DECISION;
    try {
      return decisionFromResultSet(loaded.policy.evaluate(input, loaded.entrypoint));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.logger.error("policy evaluation failed", { bundle: loaded.hash, error: message });
      return { ...deny("policy evaluation failed", POLICY_ERROR), cache: false };
    }
  }
}
