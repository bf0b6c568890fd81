// /metrics of a gateway with several workers: whichever worker the scrape lands on (SO_REUSEPORT picks one)
// gathers every worker's own text over the control sockets and answers with all of them, each sample
// labelled worker="<id>", each metric family once (Prometheus text format 0.0.4 wants a family's samples
// together). Sums across workers are the query's job: sum without (worker) (...).

export interface WorkerMetrics {
  worker: number;
  /** null: the worker did not answer (restarting); reported as custos_worker_up 0. */
  text: string | null;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

export function mergeWorkerMetrics(parts: WorkerMetrics[]): string {
  const families = new Map<string, { meta: string[]; samples: string[] }>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) {
      f = { meta: [], samples: [] };
      families.set(name, f);
    }
    return f;
  };
  const up = family("custos_worker_up");
  up.meta.push(
    "# HELP custos_worker_up Whether the worker answered this scrape (1) or not (0, e.g. restarting).",
    "# TYPE custos_worker_up gauge",
  );
  for (const part of parts) {
    up.samples.push(`custos_worker_up{worker="${part.worker}"} ${part.text === null ? 0 : 1}`);
    if (part.text === null) continue;
    let current: string | null = null;
    for (const line of part.text.split("\n")) {
      if (!line) continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta) {
        current = meta[2]!;
        const f = family(current);
        if (!f.meta.some((m) => m.startsWith(`# ${meta[1]} ${current} `))) f.meta.push(line);
        continue;
      }
      if (line.startsWith("#")) continue;
      const name = NAME.exec(line)?.[0];
      if (!name) continue;
      // A histogram's _bucket/_sum/_count samples belong to the family its TYPE line named.
      const owner = current && name.startsWith(current) ? current : name;
      family(owner).samples.push(withWorker(line, name, part.worker));
    }
  }
  const out: string[] = [];
  for (const f of families.values()) out.push(...f.meta, ...f.samples);
  return `${out.join("\n")}\n`;
}

function withWorker(line: string, name: string, worker: number): string {
  const rest = line.slice(name.length);
  const label = `worker="${worker}"`;
  // Appended after the sample's own labels: label order carries no meaning, and the first ones stay put.
  if (rest.startsWith("{}")) return `${name}{${label}}${rest.slice(2)}`;
  if (rest.startsWith("{")) {
    const close = rest.lastIndexOf("}");
    return `${name}${rest.slice(0, close)},${label}${rest.slice(close)}`;
  }
  return `${name}{${label}}${rest}`;
}
