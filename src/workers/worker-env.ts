// What a worker process is told by its supervisor (supervisor.ts), in one environment variable: its id, how
// many workers share the listeners, and the ports the supervisor resolved (a configured port 0 becomes one
// concrete port every worker binds, not N different ones).
import { join } from "node:path";
import type { Config } from "../config/types.ts";

export const WORKER_ENV = "CUSTOS_WORKER";

export interface WorkerRole {
  /** 1-based: worker 1 is started first and creates the data_dir's keys and the store's schema. */
  id: number;
  count: number;
  ports: { postgres: number; http: number; protocols: Record<string, number> };
}

/** The role the supervisor gave this process, or null for a process started by hand. */
export function workerRole(env: Record<string, string | undefined> = process.env): WorkerRole | null {
  const text = env[WORKER_ENV];
  if (!text) return null;
  const role = JSON.parse(text) as WorkerRole;
  if (!Number.isInteger(role.id) || !Number.isInteger(role.count) || role.id < 1 || role.id > role.count)
    throw new Error(`${WORKER_ENV} is not a worker role: ${text}`);
  return role;
}

export const workerEnv = (role: WorkerRole) => ({ [WORKER_ENV]: JSON.stringify(role) });

/** The config with the listen ports the supervisor resolved. */
export function withWorkerPorts(config: Config, role: WorkerRole): Config {
  const protocols = Object.fromEntries(
    Object.entries(config.listen.protocols).map(([type, a]) => [
      type,
      { host: a.host, port: role.ports.protocols[type] ?? a.port },
    ]),
  );
  return {
    ...config,
    listen: {
      ...config.listen,
      postgres: { host: config.listen.postgres.host, port: role.ports.postgres },
      http: { host: config.listen.http.host, port: role.ports.http },
      protocols,
    },
  };
}

/** Each worker keeps its own Merkle log in the shared store: `<instance id>.w<id>` (README "Workers"). */
export const workerLogId = (instanceId: string, id: number) => `${instanceId}.w${id}`;

/** True for a worker's log id of this instance (`<instance id>.w<n>`). */
export const isWorkerLogOf = (instanceId: string, logId: string) =>
  logId.startsWith(`${instanceId}.w`) && /^\d+$/.test(logId.slice(instanceId.length + 2));

/** The worker's control socket (cancel forwarding, metrics), in data_dir/run (0700), itself 0600. */
export const controlSocketPath = (dataDir: string, id: number) => join(dataDir, "run", `worker-${id}.sock`);
