// The admin API under /api: the OpenAPI document is public, everything else needs a caller with a console
// role (auth.ts). One error boundary turns CustosError into JSON with the right status. /api/approvals and
// /api/access-requests belong to the approvals module (src/api/approvals.ts), mounted beside this app, so the
// middleware here is scoped to this app's own paths.
import { Hono } from "hono";
import { openApiDocument } from "../openapi.ts";
import { type AdminEnv, authenticate, requireRole } from "./auth.ts";
import { classificationRoutes } from "./classification-routes.ts";
import type { AdminDeps } from "./deps.ts";
import { errorResponse } from "./http-error.ts";
import { infoRoutes } from "./info-routes.ts";
import { CAN } from "./roles.ts";
import { sessionRoutes } from "./sessions-routes.ts";

const OWN_PATHS = [
  "/me",
  "/sessions",
  "/sessions/*",
  "/audit/*",
  "/policy",
  "/connections",
  "/connections/*",
];

export function createAdminApi(deps: AdminDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  app.use("*", async (c, next) => {
    await next();
    // API answers are per-caller and may hold recorded data: never cached, never sniffed.
    c.header("Cache-Control", "no-store");
    c.header("X-Content-Type-Options", "nosniff");
  });
  app.get("/openapi.json", (c) => c.json(openApiDocument));
  for (const path of OWN_PATHS) app.use(path, authenticate(deps));
  app.use("/sessions/*", requireRole(CAN.read));
  app.use("/sessions", requireRole(CAN.read));
  app.route("/sessions", sessionRoutes(deps));
  app.route("/", infoRoutes(deps));
  app.route("/", classificationRoutes(deps));
  app.onError((err, c) => errorResponse(c, err));
  return app;
}
