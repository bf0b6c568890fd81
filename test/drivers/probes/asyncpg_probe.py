# asyncpg probe (its own protocol implementation, binary formats, always-prepared statements): the same
# features as every other client. Prints one JSON object of observations.
import asyncio
import hashlib
import io
import ssl
import time

import asyncpg

from common import OUT, TARGET, afeature, emit

T = TARGET


async def connect(**extra):
    extra.setdefault("ssl", False)
    return await asyncpg.connect(host=T["host"], port=T["port"], user=T["user"], password=T["password"],
                                 database=T["database"], timeout=10, **extra)


async def main():
    conn = await connect()

    async def f_connect():
        return list(await conn.fetchrow("select current_user, current_database()"))

    async def f_simple():
        # execute() without arguments uses the simple Query protocol.
        await conn.execute("create temp table simple_t (n int); insert into simple_t values (1), (2)")
        return [await conn.fetchval("select count(*)::text from drv_items"), await conn.fetchval("select sum(n) from simple_t")]

    async def f_extended():
        row = await conn.fetchrow("select $1::int + 1, $2::text, $3::numeric::text, $4::bytea, $5::text, $6::int[]",
                                  41, "é€ 'quote' \\ back", "12345.67", b"\x00\x01\xff", None, [1, 2])
        stmt = await conn.prepare("select name, created, data from drv_items where id = $1")
        named = [(await stmt.fetchrow(i))["name"] for i in (7, 8)]
        r3 = await stmt.fetchrow(3)
        return {"row": [row[0], row[1], row[2], row[3].hex(), row[4], row[5]], "named": named,
                "binary": [r3["created"].isoformat(), r3["data"].hex()]}

    async def f_pipeline():
        await conn.execute("create temp table batch_t (id int, v text)")
        await conn.executemany("insert into batch_t values ($1, $2)", [(i, f"v{i}") for i in range(100)])
        return [await conn.fetchval("select count(*) from batch_t"), await conn.fetchval("select string_agg(v, ',' order by id) from batch_t where id < 5")]

    async def f_copy():
        await conn.execute("create temp table copy_in (id int, name text)")
        n = await conn.copy_records_to_table("copy_in", records=[(i, f"row {i}\ttab é") for i in range(1, 1001)])
        buf = io.BytesIO()
        await conn.copy_from_query("select * from drv_items order by id", output=buf)
        return {"in": [n, await conn.fetchval("select md5(string_agg(name, ',' order by id)) from copy_in")],
                "out_md5": hashlib.md5(buf.getvalue()).hexdigest()}

    async def f_cursor():
        async with conn.transaction():
            ids = [r["id"] async for r in conn.cursor("select id from drv_items order by id", prefetch=37)]
            cur = await conn.cursor("select id from drv_items order by id")
            await cur.forward(100)
            at = (await cur.fetchrow())["id"]
        return {"count": len(ids), "sum": sum(ids), "forward_to": at}

    async def f_large_object():
        blob = bytes(range(256)) * 64
        oid = await conn.fetchval("select lo_from_bytea(0, $1)", blob)
        back = await conn.fetchval("select lo_get($1)", oid)
        await conn.execute(f"select lo_unlink({int(oid)})")
        return {"equal": back == blob, "size": len(back)}

    async def f_cancel():
        c = await connect()
        started = time.monotonic()
        task = asyncio.ensure_future(c.fetchval("select pg_sleep(20)"))
        await asyncio.sleep(0.5)
        task.cancel()  # asyncpg sends a CancelRequest with the connection's BackendKeyData
        try:
            await task
            state = "not cancelled"
        except asyncio.CancelledError:
            state = "cancelled"
        after = await c.fetchval("select 1")
        elapsed = time.monotonic() - started
        await c.close()
        return {"state": state, "within_5s": elapsed < 5, "usable_after": after}

    async def f_notify():
        c = await connect()
        got = asyncio.get_running_loop().create_future()
        await c.add_listener("drv_channel", lambda con, pid, ch, payload: got.done() or got.set_result([ch, payload, pid == con.get_server_pid()]))
        await c.execute("notify drv_channel, 'payload é'")
        result = await asyncio.wait_for(got, 3)
        await c.close()
        return result

    async def f_tls():
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c = await connect(ssl=ctx)
        value = await c.fetchval("select 1")
        encrypted = c._transport.get_extra_info("ssl_object") is not None
        await c.close()
        return {"value": value, "encrypted": encrypted}

    async def f_startup():
        # server_settings go into the StartupMessage as parameters of their own.
        c = await connect(server_settings={"statement_timeout": "1234", "lock_timeout": "2s",
                                           "idle_in_transaction_session_timeout": "5min", "application_name": "drv probe"})
        shows = [await c.fetchval(f"show {s}") for s in
                 ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "application_name")]
        try:
            await c.execute("select pg_sleep(3)")
            enforced = "not enforced"
        except asyncpg.PostgresError as err:
            enforced = err.sqlstate
        await c.close()
        return {"show": shows, "enforced": enforced}

    async def f_errors():
        await conn.execute("create temp table uniq (id int primary key)")
        seen = []
        for stmt in ("selec 1", "select 1/0", "insert into uniq values (1), (1)", "select * from no_such_table", "select 'abc'::int"):
            for args in ((), (None,)) if stmt == "selec 1" else ((),):
                try:
                    await (conn.fetch(stmt) if not args else conn.fetch("selec $1::int", *args))
                    seen.append("no error")
                except asyncpg.PostgresError as err:
                    seen.append([type(err).__name__, err.sqlstate, getattr(err, "position", None)])
        return seen

    async def f_pid():
        return conn.get_server_pid() == await conn.fetchval("select pg_backend_pid()")

    async def f_empty():
        # Parse("") / Execute: PostgreSQL answers EmptyQueryResponse. (asyncpg's execute("") trips over the
        # missing command tag in the client itself, direct too, so the extended form is the one probed.)
        return [await conn.fetch(""), await conn.fetchval("select 1")]

    for name, fn in (("connect", f_connect), ("simple", f_simple), ("extended", f_extended), ("pipeline", f_pipeline),
                     ("copy", f_copy), ("cursor", f_cursor), ("large_object", f_large_object), ("cancel", f_cancel),
                     ("notify", f_notify), ("tls", f_tls), ("startup", f_startup), ("errors", f_errors), ("pid", f_pid),
                     ("empty_query", f_empty)):
        await afeature(name, fn)
    await conn.close()


asyncio.run(main())
emit()
