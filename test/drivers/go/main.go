// pgx v5 probe for the driver matrix (test/drivers/pgx.test.ts): connects to the target given in the PG*
// environment, exercises each feature and prints one JSON object of observations.
package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var out = map[string]any{}

func sqlstate(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 160 {
		msg = msg[:160]
	}
	return msg
}

func feature(name string, fn func() (any, error)) {
	v, err := fn()
	if err != nil {
		out[name] = map[string]any{"error": sqlstate(err)}
		return
	}
	out[name] = v
}

func connString(extra string) string {
	return fmt.Sprintf("host=%s port=%s user=%s password='%s' dbname=%s sslmode=disable %s",
		os.Getenv("PGHOST"), os.Getenv("PGPORT"), os.Getenv("PGUSER"),
		strings.ReplaceAll(os.Getenv("PGPASSWORD"), "'", "\\'"), os.Getenv("PGDATABASE"), extra)
}

func main() {
	ctx, stop := context.WithTimeout(context.Background(), 80*time.Second)
	defer stop()
	conn, err := pgx.Connect(ctx, connString(""))
	if err != nil {
		out["connect"] = map[string]any{"error": sqlstate(err)}
		emit()
		return
	}
	defer conn.Close(ctx)

	feature("connect", func() (any, error) {
		var user, db string
		err := conn.QueryRow(ctx, "select current_user, current_database()").Scan(&user, &db)
		return []string{user, db}, err
	})
	feature("simple", func() (any, error) {
		var count, sum, name string
		err := conn.QueryRow(ctx, "select count(*)::text, sum(amount)::text, max(name) from drv_items",
			pgx.QueryExecModeSimpleProtocol).Scan(&count, &sum, &name)
		return []string{count, sum, name}, err
	})
	feature("extended", func() (any, error) {
		var n int
		var s, num string
		var b []byte
		var arr []int32
		var doc map[string]any
		err := conn.QueryRow(ctx, "select $1::int + 1, $2::text, $3::numeric::text, $4::bytea, $5::int[], $6::jsonb",
			41, "é€ 'quote' \\ back", "12345.67", []byte{0, 1, 255}, []int32{1, 2}, map[string]any{"k": "v"}).
			Scan(&n, &s, &num, &b, &arr, &doc)
		if err != nil {
			return nil, err
		}
		var created time.Time
		var data []byte
		if err := conn.QueryRow(ctx, "select created, data from drv_items where id = $1", 3).Scan(&created, &data); err != nil {
			return nil, err
		}
		return []any{n, s, num, hex.EncodeToString(b), arr, doc, created.UTC().Format(time.RFC3339), hex.EncodeToString(data)}, nil
	})
	feature("pipeline", func() (any, error) {
		batch := &pgx.Batch{}
		for i := 0; i < 5; i++ {
			batch.Queue("select $1::int * 2", i)
		}
		res := conn.SendBatch(ctx, batch)
		vals := []int{}
		for i := 0; i < 5; i++ {
			var v int
			if err := res.QueryRow().Scan(&v); err != nil {
				res.Close()
				return nil, err
			}
			vals = append(vals, v)
		}
		return vals, res.Close()
	})
	feature("copy", func() (any, error) {
		if _, err := conn.Exec(ctx, "create temp table copy_in (id int, name text)"); err != nil {
			return nil, err
		}
		rows := [][]any{}
		for i := 1; i <= 1000; i++ {
			rows = append(rows, []any{i, fmt.Sprintf("row %d\ttab é", i)})
		}
		n, err := conn.CopyFrom(ctx, pgx.Identifier{"copy_in"}, []string{"id", "name"}, pgx.CopyFromRows(rows))
		if err != nil {
			return nil, err
		}
		var buf strings.Builder
		if _, err := conn.PgConn().CopyTo(ctx, &buf, "COPY (select * from drv_items order by id) TO STDOUT"); err != nil {
			return nil, err
		}
		sum := md5.Sum([]byte(buf.String()))
		return map[string]any{"in": n, "out_md5": hex.EncodeToString(sum[:]), "out_bytes": buf.Len()}, nil
	})
	feature("cursor", func() (any, error) {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return nil, err
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, "declare drv_cur cursor for select id from drv_items order by id"); err != nil {
			return nil, err
		}
		count, sum := 0, 0
		for {
			rows, err := tx.Query(ctx, "fetch 37 from drv_cur")
			if err != nil {
				return nil, err
			}
			got := 0
			for rows.Next() {
				var id int
				if err := rows.Scan(&id); err != nil {
					return nil, err
				}
				got++
				sum += id
			}
			if rows.Err() != nil {
				return nil, rows.Err()
			}
			count += got
			if got == 0 {
				break
			}
		}
		return map[string]int{"count": count, "sum": sum}, nil
	})
	feature("large_object", func() (any, error) {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return nil, err
		}
		defer tx.Rollback(ctx)
		los := tx.LargeObjects()
		oid, err := los.Create(ctx, 0)
		if err != nil {
			return nil, err
		}
		lo, err := los.Open(ctx, oid, pgx.LargeObjectModeRead|pgx.LargeObjectModeWrite)
		if err != nil {
			return nil, err
		}
		blob := []byte(strings.Repeat("large object é ", 1000))
		if _, err := lo.Write(blob); err != nil {
			return nil, err
		}
		if _, err := lo.Seek(0, 0); err != nil {
			return nil, err
		}
		back := make([]byte, len(blob)+10)
		n, _ := lo.Read(back)
		return map[string]any{"equal": string(back[:n]) == string(blob), "size": n}, los.Unlink(ctx, oid)
	})
	feature("cancel", func() (any, error) {
		c, err := pgx.Connect(ctx, connString(""))
		if err != nil {
			return nil, err
		}
		defer c.Close(ctx)
		// PgConn.CancelRequest sends the BackendKeyData (PID and secret) on a new connection, as pgx's
		// context cancellation does.
		go func() {
			time.Sleep(500 * time.Millisecond)
			_ = c.PgConn().CancelRequest(ctx)
		}()
		started := time.Now()
		_, err = c.Exec(ctx, "select pg_sleep(20)")
		elapsed := time.Since(started)
		state := "not cancelled"
		if err != nil {
			state = sqlstate(err)
		}
		var after int
		if err := c.QueryRow(ctx, "select 1").Scan(&after); err != nil {
			return nil, err
		}
		return map[string]any{"state": state, "within_5s": elapsed < 5*time.Second, "usable_after": after}, nil
	})
	feature("notify", func() (any, error) {
		c, err := pgx.Connect(ctx, connString(""))
		if err != nil {
			return nil, err
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "listen drv_channel"); err != nil {
			return nil, err
		}
		if _, err := c.Exec(ctx, "notify drv_channel, 'payload é'"); err != nil {
			return nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		n, err := c.WaitForNotification(wctx)
		if err != nil {
			return nil, err
		}
		return []any{n.Channel, n.Payload, n.PID == c.PgConn().PID()}, nil
	})
	feature("tls", func() (any, error) {
		c, err := pgx.Connect(ctx, strings.Replace(connString(""), "sslmode=disable", "sslmode=require", 1))
		if err != nil {
			return nil, err
		}
		defer c.Close(ctx)
		var v int
		err = c.QueryRow(ctx, "select 1").Scan(&v)
		return map[string]any{"value": v, "tls": fmt.Sprintf("%T", c.PgConn().Conn()) == "*tls.Conn"}, err
	})
	feature("startup", func() (any, error) {
		// pgx sends unknown connection-string keys as start-up parameters (RuntimeParams), not via options.
		c, err := pgx.Connect(ctx, connString("statement_timeout=1234 lock_timeout=2s idle_in_transaction_session_timeout=5min application_name='drv probe'"))
		if err != nil {
			return nil, err
		}
		defer c.Close(ctx)
		shows := []string{}
		for _, s := range []string{"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "application_name"} {
			var v string
			if err := c.QueryRow(ctx, "show "+s).Scan(&v); err != nil {
				return nil, err
			}
			shows = append(shows, v)
		}
		enforced := "not enforced"
		if _, err := c.Exec(ctx, "select pg_sleep(3)"); err != nil {
			enforced = sqlstate(err)
		}
		return map[string]any{"show": shows, "enforced": enforced}, nil
	})
	feature("errors", func() (any, error) {
		if _, err := conn.Exec(ctx, "create temp table uniq (id int primary key)"); err != nil {
			return nil, err
		}
		seen := [][]any{}
		for _, stmt := range []string{"selec 1", "select 1/0", "insert into uniq values (1), (1)", "select * from no_such_table", "select 'abc'::int"} {
			_, err := conn.Exec(ctx, stmt)
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) {
				seen = append(seen, []any{pgErr.Code, pgErr.Position})
			} else {
				seen = append(seen, []any{fmt.Sprint(err), 0})
			}
		}
		return seen, nil
	})
	feature("pid", func() (any, error) {
		var pid uint32
		err := conn.QueryRow(ctx, "select pg_backend_pid()").Scan(&pid)
		return pid == conn.PgConn().PID(), err
	})
	feature("empty_query", func() (any, error) {
		_, err := conn.Exec(ctx, "")
		if err != nil {
			return nil, err
		}
		return conn.Ping(ctx) == nil, nil
	})
	emit()
}

func emit() {
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}
