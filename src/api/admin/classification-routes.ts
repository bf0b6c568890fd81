// GET /api/connections/:name/classification: where a connection's regulated data is, as the gateway knows
// it — the column labels configured for it and the findings of its latest classification scan (columns,
// classes, counts; never a sampled value). The same columns are masked and refused for agents.
import { Hono } from "hono";
import type { AdminEnv } from "./auth.ts";
import { requireRole } from "./auth.ts";
import type { AdminDeps } from "./deps.ts";
import { notFound, problem } from "./http-error.ts";
import { CAN } from "./roles.ts";

export function classificationRoutes(deps: AdminDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  app.get("/connections/:name/classification", requireRole(CAN.read), (c) => {
    const name = c.req.param("name");
    if (!deps.connections.some((x) => x.name === name)) return notFound(c, "connection");
    const port = deps.classification;
    if (!port) return problem(c, 503, "unavailable", "classification is not available on this gateway");
    const view = port.view(name);
    if (!view) return notFound(c, "classification of this connection (not a PostgreSQL connection)");
    return c.json({
      connection: view.connection,
      configured: view.configured,
      scanning: view.scanning,
      next_scan_at: view.nextScanAt,
      scan: view.scan
        ? {
            started_at: view.scan.startedAt,
            finished_at: view.scan.finishedAt,
            tables_scanned: view.scan.tablesScanned,
            tables_skipped: view.scan.tablesSkipped,
            sample_rows: view.scan.sampleRows,
            findings: view.scan.findings,
            errors: view.scan.errors,
          }
        : null,
    });
  });
  return app;
}
