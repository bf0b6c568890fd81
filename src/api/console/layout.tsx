// The console's page frame: header with navigation and the signed-in identity, one stylesheet and one small
// script, both served by the gateway (no CDN at run time).
/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";
import type { Principal } from "../admin/auth.ts";

export function Page(props: { title: string; principal?: Principal; active?: string; children?: Child }) {
  const p = props.principal;
  const nav = [
    ["sessions", "Sessions"],
    ["approvals", "Approvals"],
    ["events", "Audit events"],
    ["audit", "Audit integrity"],
  ];
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · Custos</title>
        <link rel="stylesheet" href="/console/static/app.css" />
        <script src="/console/static/app.js" defer></script>
      </head>
      <body>
        <header>
          <a class="brand" href="/console">
            Custos
          </a>
          {p ? (
            <nav>
              {nav.map(([key, label]) => (
                <a href={`/console/${key}`} class={props.active === key ? "active" : ""}>
                  {label}
                </a>
              ))}
            </nav>
          ) : null}
          {p ? (
            <form class="who" method="post" action="/console/logout">
              <span id="who" data-roles={p.roles.join(",")}>
                {p.identity.subject} · {p.roles.join(", ")}
              </span>
              <button type="submit">Sign out</button>
            </form>
          ) : null}
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

export function ErrorPage(props: { principal?: Principal; title: string; message: string }) {
  return (
    <Page title={props.title} principal={props.principal}>
      <h1>{props.title}</h1>
      <p class="error">{props.message}</p>
    </Page>
  );
}

export const fmtTime = (ms: number | null | undefined) =>
  ms === null || ms === undefined
    ? "—"
    : new Date(ms)
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z");

export function fmtDuration(us: number | null | undefined): string {
  if (us === null || us === undefined) return "—";
  if (us < 1_000) return `${us} µs`;
  if (us < 1_000_000) return `${(us / 1_000).toFixed(1)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}
