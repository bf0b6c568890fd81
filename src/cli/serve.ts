// `custos serve --config FILE`: runs the gateway until SIGTERM/SIGINT; SIGHUP reloads the policy bundle.
import { loadConfig } from "../config/load.ts";
import { createLogger } from "../core/log.ts";
import { configuredConnections, startGateway } from "../gateway.ts";
import { shareListeners } from "../net/listen.ts";
import { shippedBundle } from "../policy/shipped.ts";
import { COMPILED } from "../project-files.ts";
import { buildInfo } from "../version.ts";
import { superviseWorkers } from "../workers/supervisor.ts";
import { withWorkerPorts, workerRole } from "../workers/worker-env.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";

export const serveCommand: CliCommand = {
  name: "serve",
  summary: "run the gateway",
  usage: `usage: custos serve --config FILE

Runs the gateway with the configuration in FILE (YAML; see README "Configuration").
Signals: SIGTERM/SIGINT drain (stop accepting, end sessions, final audit checkpoint, exit);
SIGHUP reloads the policy bundle (a bundle that fails to load is refused and the old one stays).
With listen.workers > 1 (default: one per CPU) this process supervises that many workers sharing the
listeners (SO_REUSEPORT): signals reach every worker, a worker that dies is restarted, a worker that
cannot start stops the gateway with exit status 1 (README "Workers").`,
  async run(argv) {
    const { flags } = parseFlags(argv, { config: "string" });
    if (typeof flags.config !== "string") throw new CliError("serve needs --config FILE", 2);
    const role = workerRole();
    const loaded = loadConfig(flags.config);
    const config = role ? withWorkerPorts(loaded, role) : loaded;
    // A gateway with nothing to guard would run, answer /healthz and protect nothing: a start-up error.
    if (configuredConnections(config).length === 0) {
      throw new CliError(
        `${config.source ?? flags.config} defines no connections, so the gateway would guard nothing: add one under ` +
          '"connections:" (a name, a type such as postgres or http, a target and allow_groups; see README "Configuration")',
      );
    }
    const logger = createLogger(config.log.level, role ? { worker: role.id } : {});
    // The first record says which build wrote the log (support cases start with "which version?").
    const build = buildInfo();
    const supervising = !role && config.listen.workers > 1 && process.platform === "linux";
    if (!role && config.listen.workers > 1 && !supervising)
      logger.warn("listen.workers needs Linux (SO_REUSEPORT); running one process", {
        platform: process.platform,
      });
    logger.info(supervising ? "custos starting workers" : "custos starting", {
      version: build.version,
      commit: build.commit,
      bun: build.bun,
      build_date: build.buildDate,
      pid: process.pid,
      config: config.source,
      ...(supervising ? { workers: config.listen.workers } : {}),
    });
    if (supervising) return superviseWorkers({ config, argv: ["serve", ...argv], logger });
    if (role) {
      shareListeners(true);
      exitWhenOrphaned();
    }
    const gw = await startGateway(config, {
      logger,
      policyBundle: config.policy.bundle ?? (await shippedBundle()),
      // The shipped bundle inside the executable cannot change: nothing to watch.
      watchPolicy: config.policy.watch && (config.policy.bundle != null || !COMPILED),
      ...(role ? { worker: { id: role.id, count: role.count } } : {}),
    });
    process.send?.({ type: "ready" });
    await runUntilSignalled(gw, logger);
    return 0;
  },
};

/** Blocks until SIGTERM or SIGINT, then drains; SIGHUP reloads policy meanwhile. */
export async function runUntilSignalled(
  gw: { stop(graceMs?: number): Promise<void>; reloadPolicy(): Promise<boolean> },
  logger: { info(msg: string, fields?: Record<string, unknown>): void },
  graceMs = 5_000,
): Promise<void> {
  const onHup = () => void gw.reloadPolicy();
  process.on("SIGHUP", onHup);
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  process.off("SIGHUP", onHup);
  logger.info("draining", { signal, grace_ms: graceMs });
  await gw.stop(graceMs);
}

/** A worker whose supervisor died (SIGKILL, OOM) drains as if told to: no worker outlives its gateway. */
function exitWhenOrphaned(): void {
  const parent = process.ppid;
  const poll = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(poll);
    process.kill(process.pid, "SIGTERM");
  }, 1_000);
  poll.unref();
}
