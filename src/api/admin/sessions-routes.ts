// /api/sessions: the filtered list, one session, its transcript, its raw frames and its replay. Every read of
// a recording (transcript, frames, replay) is itself an audit event: auditors watch the watchers (F9).
import { Hono } from "hono";
import { checkSessions } from "../../audit/session-check.ts";
import type { AdminEnv, Principal } from "./auth.ts";
import { parseLimit, parseTime } from "./cursor.ts";
import type { AdminDeps } from "./deps.ts";
import { readFramePage } from "./frame-pages.ts";
import { notFound } from "./http-error.ts";
import { toJsonValue } from "./json-value.ts";
import { sessionFrames } from "./recording.ts";
import { buildReplay } from "./replay.ts";
import { type SessionFlag, sessionFactsReader } from "./session-facts.ts";
import { querySessions } from "./session-query.ts";
import { sessionView } from "./views.ts";

export function sessionRoutes(deps: AdminDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const now = deps.now ?? Date.now;
  const facts = sessionFactsReader(deps.store);

  const recordRead = (p: Principal, sessionId: string, what: string, extra: Record<string, unknown> = {}) =>
    deps.audit.event({
      type: "recording.read",
      time: now(),
      sessionId,
      data: {
        who: p.identity.subject,
        issuer: p.identity.issuer,
        roles: p.roles,
        via: p.via,
        what,
        ...extra,
      },
    });

  app.get("/", async (c) => {
    const q = c.req.query();
    const page = await querySessions(
      deps.store,
      {
        subject: q.subject || undefined,
        connection: q.connection || undefined,
        from: parseTime("from", q.from),
        to: parseTime("to", q.to),
        outcome: q.outcome || undefined,
        flag: (q.flag || undefined) as SessionFlag | undefined,
        text: q.text || undefined,
      },
      { limit: parseLimit(q.limit, 50, 500), cursor: q.cursor || undefined, facts },
    );
    // Each row as its own audit events say, with how the stored row compares (views that cannot lie).
    const checked = await checkSessions(deps.store, page.items);
    return c.json({ items: checked.map((x) => sessionView(x.row, x)), next_cursor: page.nextCursor });
  });

  app.get("/:id", async (c) => {
    const s = await deps.store.getSession(c.req.param("id"));
    if (!s) return notFound(c, "session");
    const [checked] = await checkSessions(deps.store, [s]);
    return c.json(checked ? sessionView(checked.row, checked) : sessionView(s));
  });

  app.get("/:id/transcript", async (c) => {
    const id = c.req.param("id");
    const s = await deps.store.getSession(id);
    if (!s) return notFound(c, "session");
    const events = await deps.store.sessionEvents(id);
    recordRead(c.get("principal"), id, "transcript");
    return c.json({
      session: sessionView(s),
      events: events.map((e) => ({
        seq: e.seq,
        log_id: e.logId,
        type: e.type,
        time: e.time,
        data: toJsonValue(e.data),
      })),
    });
  });

  app.get("/:id/frames", async (c) => {
    const id = c.req.param("id");
    const s = await deps.store.getSession(id);
    if (!s) return notFound(c, "session");
    const limit = parseLimit(c.req.query("limit"), 500, 5_000);
    const page = await readFramePage(deps, s, { limit, cursor: c.req.query("cursor") || undefined });
    recordRead(c.get("principal"), id, "frames", { offset: page.offset, count: page.items.length });
    return c.json({
      items: page.items.map((f) => ({ t: f.t, dir: f.dir, kind: f.kind, data: toJsonValue(f.data ?? null) })),
      total: page.total,
      next_cursor: page.nextCursor,
    });
  });

  app.get("/:id/replay", async (c) => {
    const id = c.req.param("id");
    const s = await deps.store.getSession(id);
    if (!s) return notFound(c, "session");
    const [events, frames] = await Promise.all([deps.store.sessionEvents(id), sessionFrames(deps, s)]);
    recordRead(c.get("principal"), id, "replay");
    return c.json({ session: sessionView(s), steps: buildReplay(events, frames, s.startedAt) });
  });

  return app;
}
