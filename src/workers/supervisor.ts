// `serve` with listen.workers > 1: the supervisor. It binds nothing itself; it checks every listener's
// address is free (and turns a configured port 0 into one concrete port), starts worker 1 (which creates the
// data_dir's keys and the store's schema), then the others, each a copy of this executable running `serve`
// with its role in CUSTOS_WORKER (worker-env.ts) and binding the same addresses with SO_REUSEPORT. It
// restarts a worker that dies (bounded backoff), passes SIGHUP on to every worker, and on SIGTERM/SIGINT
// drains them all and exits once every one has exited. A worker that cannot start stops the whole gateway:
// its own one-line reason (e.g. the bind failure with address:port) is on the shared stderr.
import type { Subprocess } from "bun";
import type { Config } from "../config/types.ts";
import type { Logger } from "../core/log.ts";
import { COMPILED } from "../project-files.ts";
import { probeListeners } from "./probe.ts";
import { type WorkerRole, workerEnv } from "./worker-env.ts";

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A worker not ready by then (stuck opening the store, say) is stopped, which counts as failing to start. */
const START_TIMEOUT_MS = 120_000;
/** A worker that ran this long before dying starts again from the shortest backoff. */
const HEALTHY_AFTER_MS = 60_000;

interface Slot {
  id: number;
  proc: Subprocess | null;
  ready: boolean;
  startedAt: number;
  crashes: number;
  exited: Promise<number> | null;
  timer: ReturnType<typeof setTimeout> | null;
}

export interface SuperviseOptions {
  config: Config;
  /** `serve`'s arguments, passed unchanged to every worker. */
  argv: string[];
  logger: Logger;
}

/** Runs the workers until SIGTERM/SIGINT; resolves with the exit status of the whole gateway. */
export async function superviseWorkers(opts: SuperviseOptions): Promise<number> {
  const { config, logger } = opts;
  const count = config.listen.workers;
  const ports = await probeListeners(config);
  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    proc: null,
    ready: false,
    startedAt: 0,
    crashes: 0,
    exited: null,
    timer: null,
  }));
  let draining = false;
  /** During the first start a worker that exits before it is ready stops everything instead of restarting. */
  let starting = true;
  let startFailure: { id: number; code: number } | null = null;

  const spawn = (slot: Slot): Promise<void> =>
    new Promise<void>((resolveReady, rejectReady) => {
      const role: WorkerRole = { id: slot.id, count, ports };
      const proc = Bun.spawn([...selfCommand(), ...opts.argv], {
        env: { ...process.env, ...workerEnv(role) },
        stdin: "ignore",
        stdout: "inherit",
        stderr: "inherit",
        ipc(message) {
          if ((message as { type?: string })?.type !== "ready") return;
          slot.ready = true;
          resolveReady();
        },
      });
      slot.proc = proc;
      slot.ready = false;
      slot.startedAt = Date.now();
      const stuck = setTimeout(() => {
        if (slot.ready || slot.proc !== proc) return;
        logger.error("worker not ready in time; stopping it", {
          worker: slot.id,
          timeout_ms: START_TIMEOUT_MS,
        });
        proc.kill("SIGKILL");
      }, START_TIMEOUT_MS);
      slot.exited = proc.exited.then((code) => {
        clearTimeout(stuck);
        const wasReady = slot.ready;
        slot.proc = null;
        slot.ready = false;
        if (!wasReady) rejectReady(new Error(`worker ${slot.id} exited ${code} before it was ready`));
        if (draining) return code;
        if (!wasReady && starting) startFailure ??= { id: slot.id, code };
        else restartLater(slot, code, proc.signalCode ? String(proc.signalCode) : null);
        return code;
      });
    });

  const restartLater = (slot: Slot, code: number, signal: string | null) => {
    if (Date.now() - slot.startedAt >= HEALTHY_AFTER_MS) slot.crashes = 0;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** slot.crashes);
    slot.crashes++;
    logger.error("worker exited; restarting", { worker: slot.id, code, signal, restart_in_ms: delay });
    slot.timer = setTimeout(() => {
      slot.timer = null;
      if (draining) return;
      spawn(slot).then(
        () => logger.info("worker restarted", { worker: slot.id, pid: slot.proc?.pid }),
        () => {}, // its exit schedules the next attempt
      );
    }, delay);
  };

  const stopAll = async (signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<number[]> => {
    draining = true;
    for (const s of slots) {
      if (s.timer) clearTimeout(s.timer);
      s.proc?.kill(signal);
    }
    return Promise.all(slots.map((s) => s.exited ?? Promise.resolve(0)));
  };

  // Start-up: worker 1 alone (it creates keys, TLS material, the instance id and the schema), then the rest.
  const started = await (async () => {
    await spawn(slots[0]!);
    await Promise.all(slots.slice(1).map(spawn));
  })().then(
    () => true,
    () => false,
  );
  starting = false;
  if (!started) {
    // Set by the exit handler, which TypeScript's narrowing of this function's locals does not see.
    const failure = startFailure as { id: number; code: number } | null;
    logger.error("worker could not start; stopping the gateway", {
      worker: failure?.id,
      code: failure?.code,
    });
    await stopAll();
    return 1;
  }

  logger.info("gateway started", {
    workers: count,
    pids: slots.map((s) => s.proc?.pid),
    postgres: `${config.listen.postgres.host}:${ports.postgres}`,
    http: `${config.listen.http.host}:${ports.http}`,
    ...Object.fromEntries(
      Object.entries(ports.protocols).map(([t, p]) => [t, `${config.listen.protocols[t]?.host}:${p}`]),
    ),
  });

  const onHup = () => {
    logger.info("reloading policy in every worker", { signal: "SIGHUP" });
    for (const s of slots) s.proc?.kill("SIGHUP");
  };
  process.on("SIGHUP", onHup);
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  process.off("SIGHUP", onHup);
  logger.info("draining every worker", { signal, workers: count });
  const codes = await stopAll();
  const failed = codes.map((code, i) => ({ worker: i + 1, code })).filter((c) => c.code !== 0);
  if (failed.length) {
    logger.error("workers did not stop cleanly", { failed });
    return 1;
  }
  logger.info("gateway stopped", { workers: count });
  return 0;
}

/** The command that runs this CLI again: the executable itself, or Bun with the entry script. */
function selfCommand(): string[] {
  return COMPILED ? [process.execPath] : [process.execPath, Bun.main];
}
