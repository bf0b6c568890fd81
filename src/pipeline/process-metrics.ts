// Build and process metrics in the Prometheus text format, with the names the Prometheus client libraries
// use (process_resident_memory_bytes, process_cpu_seconds_total, process_open_fds…) so stock dashboards and
// alerts work. Computed only when /metrics is scraped.
import { readdirSync } from "node:fs";
import type { BuildInfo } from "../version.ts";

const startedAt = Date.now() / 1000 - process.uptime();

function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function openFds(): number | null {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return null; // not Linux
  }
}

export function renderProcessMetrics(build: BuildInfo): string {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  const fds = openFds();
  const lines = [
    "# HELP custos_build_info Custos build: version, commit, Bun version and build date; always 1.",
    "# TYPE custos_build_info gauge",
    `custos_build_info{version="${label(build.version)}",commit="${label(build.commit)}",bun="${label(build.bun)}",build_date="${label(build.buildDate ?? "")}"} 1`,
    "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
    "# TYPE process_cpu_seconds_total counter",
    `process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`,
    "# HELP process_resident_memory_bytes Resident memory size in bytes.",
    "# TYPE process_resident_memory_bytes gauge",
    `process_resident_memory_bytes ${mem.rss}`,
    "# HELP process_heap_bytes JavaScript heap in use, in bytes.",
    "# TYPE process_heap_bytes gauge",
    `process_heap_bytes ${mem.heapUsed}`,
    "# HELP process_start_time_seconds Start time of the process since the Unix epoch in seconds.",
    "# TYPE process_start_time_seconds gauge",
    `process_start_time_seconds ${Math.round(startedAt)}`,
  ];
  if (fds !== null) {
    lines.push(
      "# HELP process_open_fds Number of open file descriptors.",
      "# TYPE process_open_fds gauge",
      `process_open_fds ${fds}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
