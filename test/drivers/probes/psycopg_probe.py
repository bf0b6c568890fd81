# psycopg 3 probe (libpq underneath): sync, async, pipeline mode, COPY, server-side cursors, psycopg_pool's
# health check. Prints one JSON object of observations; the test compares the direct run with the gateway's.
import asyncio
import hashlib
import threading
import time

import psycopg
from psycopg import errors
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from common import OUT, TARGET, emit, feature

T = TARGET


def dsn(**extra):
    base = dict(host=T["host"], port=T["port"], user=T["user"], password=T["password"], dbname=T["database"])
    base.setdefault("sslmode", "disable")
    base.update(extra)
    return make_conninfo(**base)


conn = psycopg.connect(dsn(), autocommit=True)


@feature("connect")
def _():
    return list(conn.execute("select current_user, current_database()").fetchone())


@feature("simple")
def _():
    # Text protocol, no parameters: psycopg sends a simple Query.
    r = conn.execute("select count(*), sum(amount)::text, max(name) from drv_items; ", prepare=False)
    return [str(v) for v in r.fetchone()]


@feature("extended")
def _():
    params = (41, "é€ 'quote' \\ back", 12345.67, b"\x00\x01\xff", None, [1, 2], {"k": "v"})
    row = conn.execute(
        "select %s::int + 1, %s::text, %s::numeric, %s::bytea, %s::text, %s::int[], %s::jsonb",
        [params[0], params[1], params[2], params[3], params[4], params[5], psycopg.types.json.Jsonb(params[6])],
    ).fetchone()
    # prepare=True: a named server-side prepared statement, executed twice.
    named = [conn.execute("select name from drv_items where id = %s", [i], prepare=True).fetchone()[0] for i in (7, 8)]
    binary = conn.cursor(binary=True).execute("select data, created from drv_items where id = %s", [3]).fetchone()
    return {"row": [row[0], row[1], str(row[2]), row[3].hex(), row[4], row[5], row[6]], "named": named,
            "binary": [binary[0].hex(), binary[1].isoformat()]}


@feature("pipeline")
def _():
    with conn.pipeline() as p:
        curs = [conn.execute("select %s::int * 2", [i]) for i in range(5)]
        p.sync()
        values = [c.fetchone()[0] for c in curs]
    try:
        with conn.pipeline():
            conn.execute("select 1")
            conn.execute("select 1/0")
            conn.execute("select 2")
    except psycopg.Error as err:
        failed = err.sqlstate
    return {"values": values, "error_in_pipeline": failed, "after": conn.execute("select 3").fetchone()[0]}


@feature("copy")
def _():
    conn.execute("create temp table if not exists copy_in (id int, name text, data bytea)")
    conn.execute("truncate copy_in")
    with conn.cursor() as cur:
        with cur.copy("COPY copy_in (id, name, data) FROM STDIN") as copy:
            for i in range(1, 1001):
                copy.write_row((i, f"row {i}\ttab é", bytes([i % 256]) * 3))
        with cur.copy("COPY copy_in (id, name, data) FROM STDIN (FORMAT binary)") as copy:
            copy.set_types(["int4", "text", "bytea"])
            copy.write_row((5000, "binary", b"\x00"))
        copied_in = conn.execute("select count(*), md5(string_agg(name || encode(data, 'hex'), ',' order by id)) from copy_in").fetchone()
        out = bytearray()
        with cur.copy("COPY (select * from drv_items order by id) TO STDOUT") as copy:
            for block in copy:
                out += block
    return {"in": list(copied_in), "out_md5": hashlib.md5(out).hexdigest(), "out_bytes": len(out)}


@feature("cursor")
def _():
    with psycopg.connect(dsn()) as c:
        with c.cursor(name="drv_cursor") as cur:
            cur.itersize = 37
            cur.execute("select id, name from drv_items order by id")
            ids = [row[0] for row in cur]
        with c.cursor(name="drv_scroll", scrollable=True) as cur:
            cur.execute("select id from drv_items order by id")
            cur.scroll(100)
            at = cur.fetchone()[0]
    return {"count": len(ids), "sum": sum(ids), "scrolled_to": at}


@feature("large_object")
def _():
    # psycopg 3 has no large-object API: the server's lo_* functions through SQL.
    blob = bytes(range(256)) * 64
    oid = conn.execute("select lo_from_bytea(0, %s)", [blob]).fetchone()[0]
    back = conn.execute("select lo_get(%s)", [oid]).fetchone()[0]
    conn.execute("select lo_unlink(%s)", [oid])
    return {"equal": bytes(back) == blob, "size": len(back)}


@feature("cancel")
def _():
    c = psycopg.connect(dsn(), autocommit=True)
    threading.Timer(0.5, c.cancel_safe).start()
    started = time.monotonic()
    try:
        c.execute("select pg_sleep(20)")
        state = "not cancelled"
    except errors.QueryCanceled as err:
        state = err.sqlstate
    elapsed = time.monotonic() - started
    after = c.execute("select 1").fetchone()[0]
    c.close()
    return {"sqlstate": state, "within_5s": elapsed < 5, "usable_after": after}


@feature("notify")
def _():
    c = psycopg.connect(dsn(), autocommit=True)
    c.execute("listen drv_channel")
    c.execute("notify drv_channel, 'payload é'")
    got = [(n.channel, n.payload, n.pid == c.info.backend_pid) for n in c.notifies(timeout=3, stop_after=1)]
    c.close()
    return got


@feature("tls")
def _():
    with psycopg.connect(dsn(sslmode="require")) as c:
        return {"ssl_in_use": c.pgconn.ssl_in_use, "value": c.execute("select 1").fetchone()[0]}


@feature("startup")
def _():
    opts = "-c statement_timeout=1234 -c lock_timeout=2s -c idle_in_transaction_session_timeout=5min"
    with psycopg.connect(dsn(options=opts, application_name="drv probe")) as c:
        shows = [c.execute(f"show {s}").fetchone()[0] for s in
                 ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "application_name")]
        try:
            c.execute("select pg_sleep(3)")
            enforced = "not enforced"
        except errors.QueryCanceled as err:
            enforced = err.sqlstate
        return {"show": shows, "enforced": enforced}


@feature("errors")
def _():
    seen = []
    conn.execute("create temp table if not exists uniq (id int primary key)")
    for stmt in ("selec 1", "select 1/0", "insert into uniq values (1), (1)", "select * from no_such_table",
                 "select 'abc'::int"):
        try:
            conn.execute(stmt)
            seen.append("no error")
        except psycopg.Error as err:
            seen.append([type(err).__name__, err.sqlstate, err.diag.statement_position])
    return seen


@feature("pid")
def _():
    return conn.info.backend_pid == conn.execute("select pg_backend_pid()").fetchone()[0]


@feature("empty_query")
def _():
    r = conn.execute("")
    return [r.pgresult.status, conn.execute("select 1").fetchone()[0]]


@feature("pool_health")
def _():
    # psycopg_pool's documented health check (check_connection runs an empty query) on every borrow.
    with ConnectionPool(dsn(), min_size=2, max_size=2, check=ConnectionPool.check_connection, timeout=5) as pool:
        values = []
        for _ in range(4):
            with pool.connection() as c:
                values.append(c.execute("select 1").fetchone()[0])
        stats = pool.get_stats()
        return {"values": values, "lost": stats.get("connections_lost", 0), "errors": stats.get("connections_errors", 0)}


@feature("protocol_latest")
def _():
    # libpq 18 (psycopg-binary bundles it) asks for protocol 3.2; a 3.0 server answers NegotiateProtocolVersion
    # with 3.0 and libpq carries on.
    with psycopg.connect(dsn(max_protocol_version="latest")) as c:
        return [c.pgconn.protocol_version, c.execute("select 1").fetchone()[0]]


@feature("replication")
def _():
    # A logical replication connection. PostgreSQL answers IDENTIFY_SYSTEM; the gateway refuses the start-up
    # parameter with a FATAL naming it (issue 14 item 10), never silence or a downgrade.
    try:
        c = psycopg.connect(dsn(replication="database"), autocommit=True)
    except psycopg.OperationalError as err:
        return {"refused": True, "names_replication": "replication" in str(err)}
    try:
        cur = c.execute("IDENTIFY_SYSTEM")
        return [d.name for d in cur.description]
    finally:
        c.close()


async def async_part():
    async with await psycopg.AsyncConnection.connect(dsn(), autocommit=True) as ac:
        cur = await ac.execute("select %s::text || current_database(), pg_backend_pid() = %s", ["db:", ac.info.backend_pid])
        row = await cur.fetchone()
        async with ac.pipeline():
            curs = [await ac.execute("select %s::int", [i]) for i in range(3)]
        vals = [(await c.fetchone())[0] for c in curs]
        return [row[0], row[1], vals]


@feature("async")
def _():
    return asyncio.run(async_part())


conn.close()
emit()
