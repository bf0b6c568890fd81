// The gateway's HTTP listener: health, Prometheus metrics, and (later) the admin API and console.
import { Hono } from "hono";
import { createAdminApi } from "./admin/app.ts";
import type { AdminDeps } from "./admin/deps.ts";
import { createConsole } from "./console/app.tsx";

export interface HealthSource {
  /** Names of the conditions that keep the gateway from being ready; empty when ready. */
  notReady(): string[];
  /** Conditions worth an operator's attention that do not make the gateway unready (anchors, capacity). */
  warnings?(): string[];
  metrics(): string | Promise<string>;
  /** Extra state shown by /healthz without deciding readiness (SIEM delivery). */
  detail?(): Record<string, unknown>;
  /** Routes served under /api (approvals, later the admin API). */
  api?: Hono<any>[];
}

export function createHttpApp(source: HealthSource, extra: { admin?: AdminDeps } = {}): Hono {
  const app = new Hono();
  if (extra.admin) {
    app.route("/api", createAdminApi(extra.admin));
    app.route("/console", createConsole(extra.admin));
    app.get("/", (c) => c.redirect("/console", 302));
  }
  app.get("/healthz", (c) => {
    const problems = source.notReady();
    const warnings = source.warnings?.() ?? [];
    const detail = { ...(source.detail?.() ?? {}), ...(warnings.length ? { warnings } : {}) };
    return problems.length
      ? c.json({ status: "unavailable", problems, ...detail }, 503)
      : c.json({ status: "ok", ...detail }, 200);
  });
  app.get("/metrics", async (c) =>
    c.body(await source.metrics(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }),
  );
  for (const routes of source.api ?? []) app.route("/api", routes);
  return app;
}
