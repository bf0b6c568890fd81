// bench/run --soak [--minutes N] [--sessions N] [--rate N]: N concurrent PostgreSQL sessions through Custos
// (default 1,000; a fifth of them agents whose reads are masked) under a steady mixed load at a bounded total
// rate (plain reads, masked reads, a few autocommit writes), plus a few HTTP clients through the gateway's
// HTTP connection, for a bounded time. Every few seconds it samples the gateway's RSS, the recorder's queue
// (custos_audit_queue_depth on /metrics) and the errors so far; the verdict (support/soak-verdict.ts) wants
// RSS flat within 10% after the warm-up, no errors and a queue that does not grow. Issue 23.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../test/support/free-port.ts";
import { pgBin } from "../test/support/postgres.ts";
import { createWideTable, initPgbench } from "./support/fixture.ts";
import { load1, machineInfo } from "./support/machine.ts";
import { rssKb } from "./support/memory.ts";
import { replaceSection } from "./support/results-md.ts";
import { SoakSession } from "./support/soak-client.ts";
import { SOAK_LAST, type SoakSample, soakVerdict } from "./support/soak-verdict.ts";
import { startBenchPostgres, startCustos } from "./support/targets.ts";

export interface SoakOptions {
  root: string;
  minutes: number;
  sessions: number;
  /** Statements per second over all PostgreSQL sessions. */
  rate: number;
  /** HTTP clients, each at HTTP_RATE requests per second. */
  httpClients: number;
  /** Rewrite the soak section of bench/RESULTS.md. */
  write: boolean;
}

const SAMPLE_MS = 5000;
const TICK_MS = 100;
const HTTP_RATE = 20;
/** One session in AGENT_EVERY is an agent (masked reads); one service statement in WRITE_EVERY writes. */
const AGENT_EVERY = 5;
const WRITE_EVERY = 10;
/** The fixture's card number, the same in every bench_wide row: a masked read must never carry it. */
const CARD = new TextEncoder().encode("4111 1111 1111 1111");

const log = (s: string) => console.error(`soak: ${s}`);

export async function runSoak(o: SoakOptions): Promise<number> {
  const started = Date.now();
  const m = machineInfo(o.root);
  const loadBefore = load1();
  const stops: (() => Promise<void>)[] = [];
  // Bounded whatever happens: set-up, the run and teardown, with room to spare.
  const watchdog = setTimeout(
    () => {
      log("watchdog: the soak overran its time bound");
      process.exit(1);
    },
    (o.minutes * 60 + 600) * 1000,
  );
  try {
    const pg = await startBenchPostgres();
    stops.push(() => pg.stop());
    initPgbench(pgBin("pgbench"), pg, 1);
    createWideTable(pg);
    const upPort = await freePort();
    const upstream = Bun.spawn([process.execPath, join(o.root, "bench/http/upstream.ts"), String(upPort)], {
      stdout: "pipe",
    });
    stops.push(async () => {
      upstream.kill();
      await upstream.exited;
    });
    await upstream.stdout.getReader().read();
    const custos = await startCustos(pg, {
      root: o.root,
      extraConnections: [
        "  - name: svc",
        "    type: http",
        `    target: http://127.0.0.1:${upPort}`,
        "    allow_groups: [bench]",
      ],
    });
    stops.push(() => custos.stop());
    const ep = custos.endpoint;
    const gwPid = ep.pid!;
    const metricsUrl = `http://127.0.0.1:${custos.httpPort}/metrics`;

    let errors = 0;
    const errorKinds = new Map<string, number>();
    const fail = (kind: string) => {
      errors++;
      errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
    };

    log(`opening ${o.sessions} sessions through Custos`);
    const openStarted = Date.now();
    const sessions: { s: SoakSession; agent: boolean }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < o.sessions) {
          const agent = next++ % AGENT_EVERY === 0;
          const pw = agent ? ep.agentPassword! : ep.password;
          sessions.push({ s: await SoakSession.open(ep.port, ep.user, ep.database, pw), agent });
        }
      }),
    );
    const openSeconds = (Date.now() - openStarted) / 1000;
    log(`${sessions.length} sessions open in ${openSeconds.toFixed(1)} s; load for ${o.minutes} min`);

    let done = 0;
    let reads = 0;
    let masked = 0;
    let writes = 0;
    let httpOk = 0;
    let skippedBusy = 0;
    let cursor = 0;
    let n = 0;
    let running = true;
    const inflight = new Set<Promise<void>>();
    const issue = (entry: { s: SoakSession; agent: boolean }) => {
      const i = n++;
      // bench_wide has ids 1–1000: a window of 10 always lies inside it.
      const id = 1 + (i % 991);
      let text: string;
      let kind: "read" | "masked" | "write";
      if (entry.agent) {
        text = `SELECT id, name, email, ssn, card_number FROM bench_wide WHERE id BETWEEN ${id} AND ${id + 9}`;
        kind = "masked";
      } else if (i % WRITE_EVERY === 0) {
        text = `INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, ${id}, ${i % 5000}, CURRENT_TIMESTAMP)`;
        kind = "write";
      } else {
        text = `SELECT abalance FROM pgbench_accounts WHERE aid = ${1 + ((i * 7919) % 100000)}`;
        kind = "read";
      }
      const p = entry.s
        .query(text, kind === "masked")
        .then((r) => {
          if (r.error) return fail(`${kind}: ${r.error.slice(0, 80)}`);
          if (kind === "masked") {
            if (r.rows !== 10) return fail(`masked read: ${r.rows} rows, not 10`);
            if (r.data && Buffer.from(r.data).includes(CARD))
              return fail("masked read: the card number unmasked");
            masked++;
          } else if (kind === "write") writes++;
          else reads++;
          done++;
        })
        .catch((e: Error) => fail(`${kind}: ${e.message.slice(0, 80)}`))
        .finally(() => inflight.delete(p));
      inflight.add(p);
    };
    // A steady arrival rate: each tick hands its share to the next idle sessions, round-robin.
    const perTick = o.rate / (1000 / TICK_MS);
    let credit = 0;
    const ticker = setInterval(() => {
      credit += perTick;
      let scanned = 0;
      while (credit >= 1 && scanned < sessions.length) {
        const entry = sessions[cursor]!;
        cursor = (cursor + 1) % sessions.length;
        scanned++;
        if (entry.s.closed) continue;
        if (entry.s.busy) {
          skippedBusy++;
          continue;
        }
        credit--;
        issue(entry);
      }
      credit = Math.min(credit, perTick * 10);
    }, TICK_MS);

    const token = ep.password;
    const httpUrl = `http://127.0.0.1:${custos.httpPort}/c/svc/v1/invoices/42`;
    const http = Array.from({ length: o.httpClients }, async () => {
      while (running) {
        const t0 = performance.now();
        try {
          const r = await fetch(httpUrl, { headers: { authorization: `Bearer ${token}` } });
          await r.arrayBuffer();
          if (r.status === 200) {
            httpOk++;
            done++;
          } else fail(`http: status ${r.status}`);
        } catch (e) {
          fail(`http: ${(e as Error).message.slice(0, 80)}`);
        }
        await Bun.sleep(Math.max(0, 1000 / HTTP_RATE - (performance.now() - t0)));
      }
    });

    const samples: SoakSample[] = [];
    /** RssAnon per sample (the heap and other private memory; RSS also counts mapped files). */
    const anon: number[] = [];
    const t0 = Date.now();
    let lastQueue = 0;
    let commitFailures = 0;
    const sample = async () => {
      const gone = custos.exited?.();
      if (gone) fail(`gateway: ${gone.slice(0, 120)}`);
      try {
        const text = await (await fetch(metricsUrl)).text();
        lastQueue = metric(text, "custos_audit_queue_depth") ?? lastQueue;
        commitFailures = metric(text, "custos_audit_commit_failures_total") ?? commitFailures;
      } catch (e) {
        fail(`metrics: ${(e as Error).message.slice(0, 80)}`);
      }
      const closed = sessions.filter((x) => x.s.closed).length;
      const s: SoakSample = {
        t: (Date.now() - t0) / 1000,
        rssKb: rssKb(gwPid),
        queueDepth: lastQueue,
        // A session the gateway (or PostgreSQL behind it) closed is an error even when it was idle.
        errors: errors + commitFailures + closed,
        done,
      };
      samples.push(s);
      anon.push(rssPart(gwPid, "RssAnon"));
      log(
        `t=${s.t.toFixed(0)}s rss ${(s.rssKb / 1024).toFixed(1)} MB queue ${s.queueDepth} errors ${s.errors} done ${done} (closed sessions ${closed}, in flight ${inflight.size}) load ${load1()}`,
      );
    };
    await sample();
    const sampler = setInterval(() => void sample(), SAMPLE_MS);
    await Bun.sleep(o.minutes * 60_000);
    clearInterval(ticker);
    clearInterval(sampler);
    running = false;
    await Promise.all(http);
    await Promise.all([...inflight]);
    await sample();
    const closedUnexpectedly = sessions.filter((x) => x.s.closed).length;
    for (const x of sessions) x.s.close();

    const warmup = Math.min(60, o.minutes * 12);
    const verdict = soakVerdict(samples, warmup);
    const loadAfter = load1();
    const elapsed = samples.at(-1)!.t;
    const body = [
      `## Soak: ${o.sessions} concurrent sessions for ${o.minutes} min (\`bench/run --soak\`)`,
      "",
      `${m.date} · commit ${m.commit}${m.dirty ? " (src/ had uncommitted changes)" : ""} · ${m.nproc} cores, ${m.memoryGb} GB · Bun ${m.bun} · load average (1 min) ${loadBefore} before, ${loadAfter} after · ${((Date.now() - started) / 60000).toFixed(1)} min in all`,
      "",
      `Custos as its own process (\`custos serve\`, shipped default pack, recording on, SQLite audit store, audit.sync=writes). ${o.sessions} PostgreSQL sessions opened through it in ${openSeconds.toFixed(0)} s (raw wire clients, simple protocol; one in ${AGENT_EVERY} an agent), then a steady arrival rate of ${o.rate} statements/s handed round-robin to idle sessions: service sessions read one pgbench_accounts row, one statement in ${WRITE_EVERY} an autocommit INSERT; agent sessions read 10 bench_wide rows, masked (checked: the fixture's card number never arrives). ${o.httpClients} HTTP clients at ${HTTP_RATE} requests/s each GET an 80-byte JSON answer through a \`type: http\` connection. Samples every ${SAMPLE_MS / 1000} s: gateway RSS from /proc, custos_audit_queue_depth from /metrics, errors (client-side failures, unmasked reads, closed sessions, failed audit commits). Warm-up: the first ${warmup} s.`,
      "",
      `Answered: ${reads} reads, ${masked} masked reads, ${writes} writes, ${httpOk} HTTP requests in ${elapsed.toFixed(0)} s (${(done / elapsed).toFixed(0)}/s; ${skippedBusy} arrivals passed over a busy session); sessions closed unexpectedly: ${closedUnexpectedly}.`,
      "",
      `**Verdict: ${verdict.ok ? "pass" : "FAIL"}**`,
      "",
      ...verdict.checks.map((c) => `- ${c.name}: ${c.ok ? "ok" : "**failed**"} — ${c.detail}`),
      ...(errorKinds.size
        ? ["", "Errors by kind:", "", ...[...errorKinds].map(([k, v]) => `- ${k}: ${v}`)]
        : []),
      "",
      "| t s | RSS MB | of which RssAnon MB | queue depth | errors | answered |",
      "|---:|---:|---:|---:|---:|---:|",
      ...thin(
        samples.map((s, i) => ({ s, anonKb: anon[i]! })),
        24,
      ).map(
        ({ s, anonKb }) =>
          `| ${s.t.toFixed(0)} | ${(s.rssKb / 1024).toFixed(1)} | ${(anonKb / 1024).toFixed(1)} | ${s.queueDepth} | ${s.errors} | ${s.done} |`,
      ),
    ].join("\n");
    console.log(`\n${body}\n`);
    // bench/run's goal table reads the last soak's verdict from here (bench/out is not committed).
    mkdirSync(join(o.root, "bench/out"), { recursive: true });
    writeFileSync(
      join(o.root, SOAK_LAST),
      `${JSON.stringify({ date: m.date, commit: m.commit, minutes: o.minutes, sessions: o.sessions, ok: verdict.ok, checks: verdict.checks }, null, 2)}\n`,
    );
    if (o.write) {
      const path = join(o.root, "bench/RESULTS.md");
      writeFileSync(path, replaceSection(readFileSync(path, "utf8"), "soak", body));
      log("bench/RESULTS.md soak section rewritten");
    }
    return verdict.ok ? 0 : 3;
  } finally {
    clearTimeout(watchdog);
    for (const stop of stops.reverse()) await stop().catch((e) => log(`cleanup: ${e}`));
  }
}

/** One RSS part of /proc/<pid>/status (RssAnon, RssFile), KiB; NaN when the process is gone. */
function rssPart(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** A gauge or counter without labels from Prometheus text; null when absent. */
export function metric(text: string, name: string): number | null {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : null;
}

/** At most `max` samples, evenly spaced, the last one always kept. */
function thin<T>(xs: T[], max: number): T[] {
  if (xs.length <= max) return xs;
  const step = (xs.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => xs[Math.round(i * step)]!);
}
