package xraypgx_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xraypgx"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
)

const secret = "pgxS3cretPW" // PostgreSQL's trust authentication accepts any password

func dsn() string {
	if v := os.Getenv("XRAY_TEST_POSTGRES_DSN"); v != "" {
		return v
	}
	return "postgres://postgres:" + secret + "@127.0.0.1:5432/test?sslmode=disable"
}

type tracing struct {
	t   *testing.T
	rec *xray.Recorder
	d   *xraytest.Daemon
}

func newTracing(t *testing.T) *tracing {
	r, d := xraytest.NewDaemonRecorder(t)
	return &tracing{t: t, rec: r, d: d}
}

func (tr *tracing) segment(fn func(ctx context.Context)) xraytest.Document {
	tr.t.Helper()
	return tr.d.Trace(tr.t, tr.rec, "pgx-test", fn)
}

func connect(t *testing.T, opts ...xraypgx.Option) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := xraypgx.Connect(ctx, dsn(), opts...)
	if err != nil {
		t.Fatalf("PostgreSQL unreachable (scripts/test starts it): %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func sqlSubs(doc xraytest.Document) []xraytest.Document {
	var out []xraytest.Document
	doc.Walk(func(d, _ xraytest.Document) {
		if d.Object("sql") != nil {
			out = append(out, d)
		}
	})
	return out
}

func meta(d xraytest.Document, key string) any {
	m, _ := d.Object("metadata")["sql"].(map[string]any)
	return m[key]
}

func setup(t *testing.T, c *pgx.Conn, table string) {
	t.Helper()
	for _, q := range []string{"DROP TABLE IF EXISTS " + table, "CREATE TABLE " + table + " (id SERIAL PRIMARY KEY, email TEXT UNIQUE, n INT)"} {
		if _, err := c.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

func TestQueryTransactionAndErrors(t *testing.T) {
	c := connect(t)
	setup(t, c, "xraypgx_q")
	tr := newTracing(t)
	doc := tr.segment(func(ctx context.Context) {
		var id int
		if err := c.QueryRow(ctx, "INSERT INTO xraypgx_q (email, n) VALUES ($1, 42) RETURNING id", "ann@example.com").Scan(&id); err != nil {
			t.Fatal(err)
		}
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx.Exec(ctx, "UPDATE xraypgx_q SET n = n + 1 WHERE email = 'ann@example.com'")
		tx.Exec(ctx, "INSERT INTO xraypgx_q (email) VALUES ($1)", "bob@example.com")
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		tx, _ = c.Begin(ctx)
		tx.Exec(ctx, "DELETE FROM xraypgx_q")
		tx.Rollback(ctx)
		_, err = c.Exec(ctx, "INSERT INTO xraypgx_q (email) VALUES ($1)", "ann@example.com")
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
			t.Fatalf("want a unique violation, got %v", err)
		}
	})
	subs := doc.Subsegments()
	if len(subs) != 4 {
		t.Fatalf("got %d subsegments (want insert, committed tx, rolled back tx, failed insert): %v", len(subs), doc)
	}
	ins := subs[0]
	b := ins.Object("sql")
	if b["sanitized_query"] != "INSERT INTO xraypgx_q ( email, n ) VALUES ( $1, ? ) RETURNING id" || b["database_type"] != "PostgreSQL" ||
		b["url"] != "postgres://postgres@127.0.0.1:5432/test" || ins.Name() != "test@127.0.0.1" || meta(ins, "rows_affected") != 1.0 {
		t.Errorf("insert: %v %v", ins.Name(), b)
	}
	if v, _ := b["database_version"].(string); !strings.HasPrefix(v, "1") {
		t.Errorf("database_version = %v (from the connection's parameters)", b["database_version"])
	}
	if meta(subs[1], "transaction") != "committed" || len(subs[1].Subsegments()) != 2 {
		t.Errorf("committed transaction: %v", subs[1])
	}
	if meta(subs[2], "transaction") != "rolled back" || len(subs[2].Subsegments()) != 1 {
		t.Errorf("rolled back transaction: %v", subs[2])
	}
	dup := subs[3]
	ex := dup.Object("cause")["exceptions"].([]any)[0].(map[string]any)
	if !dup.Bool("error") || dup.Bool("fault") || !strings.Contains(ex["message"].(string), "23505") {
		t.Errorf("unique violation: %v", dup)
	}
	raw := ""
	for _, dg := range tr.d.Datagrams() {
		raw += string(dg.Raw)
	}
	for _, s := range []string{secret, "ann@example.com", "bob@example.com"} {
		if strings.Contains(raw, s) {
			t.Errorf("%q reached the daemon", s)
		}
	}
}

// The seed: "Each batch creates one database subsegment instead of 1000".
func TestBatchAndCopy(t *testing.T) {
	c := connect(t)
	setup(t, c, "xraypgx_b")
	tr := newTracing(t)
	doc := tr.segment(func(ctx context.Context) {
		batch := &pgx.Batch{}
		for i := range 1000 {
			batch.Queue("INSERT INTO xraypgx_b (email, n) VALUES ($1, $2)", fmt.Sprintf("u%d@example.com", i), i)
		}
		if err := c.SendBatch(ctx, batch).Close(); err != nil {
			t.Fatal(err)
		}
		rows := [][]any{{"c1@example.com", 1}, {"c2@example.com", 2}, {"c3@example.com", 3}}
		n, err := c.CopyFrom(ctx, pgx.Identifier{"xraypgx_b"}, []string{"email", "n"}, pgx.CopyFromRows(rows))
		if err != nil || n != 3 {
			t.Fatalf("copy: %d, %v", n, err)
		}
	})
	subs := doc.Subsegments()
	if len(subs) != 2 {
		t.Fatalf("got %d subsegments, want one for the batch and one for the copy", len(subs))
	}
	if meta(subs[0], "batch_statements") != 1000.0 || meta(subs[0], "batch_results") != 1000.0 || len(subs[0].Subsegments()) != 0 {
		t.Errorf("batch: %v", subs[0])
	}
	if meta(subs[1], "rows_copied") != 3.0 || meta(subs[1], "table") != `"xraypgx_b"` ||
		subs[1].Object("sql")["sanitized_query"] != `COPY "xraypgx_b" ( "email", "n" ) FROM STDIN` {
		t.Errorf("copy: %v", subs[1])
	}

	// With WithBatchStatements each statement has its own subsegment.
	c2 := connect(t, xraypgx.WithBatchStatements())
	doc = tr.segment(func(ctx context.Context) {
		batch := &pgx.Batch{}
		batch.Queue("SELECT 1")
		batch.Queue("SELECT 2")
		c2.SendBatch(ctx, batch).Close()
	})
	if subs := doc.Subsegments(); len(subs) != 1 || len(subs[0].Subsegments()) != 2 {
		t.Errorf("batch with statements: %v", doc)
	}
}

func TestClosedPortIsFault(t *testing.T) {
	tr := newTracing(t)
	doc := tr.segment(func(ctx context.Context) {
		_, err := xraypgx.Connect(ctx, "postgres://postgres:"+secret+"@127.0.0.1:1/test?connect_timeout=5")
		if err == nil {
			t.Fatal("connected to a closed port")
		}
	})
	subs := sqlSubs(doc)
	if len(subs) != 1 || !subs[0].Bool("fault") || meta(subs[0], "operation") != "connect" {
		t.Fatalf("failed connection: %v", doc)
	}
}

func TestPoolAcquireAndStats(t *testing.T) {
	pool, err := xraypgx.NewPool(context.Background(), dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pool.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	tr := newTracing(t)
	doc := tr.segment(func(ctx context.Context) {
		var one int
		if err := pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
			t.Fatal(err)
		}
		xraypgx.RecordPoolStats(ctx, pool)
	})
	// A warm pool: the acquisition is fast and leaves no subsegment.
	if subs := sqlSubs(doc); len(subs) != 1 || subs[0].Object("sql")["sanitized_query"] != "SELECT ?" {
		t.Errorf("subsegments: %v", doc)
	}
	if m, _ := doc.Object("metadata")["database"].(map[string]any); m["acquire_count"] == nil || m["total_conns"] != 1.0 {
		t.Errorf("pool stats: %v", doc.Object("metadata"))
	}
}

func TestNoSegmentIsUntraced(t *testing.T) {
	c := connect(t)
	var one int
	if err := c.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatal(one, err)
	}
}

func BenchmarkQuery(b *testing.B) {
	r, _ := xray.New(xray.Config{Emitter: xray.DiscardEmitter{}, SamplingStrategy: sampling.Always, StreamingThreshold: -1})
	never, _ := xray.New(xray.Config{Emitter: xray.DiscardEmitter{}, SamplingStrategy: sampling.Never})
	plain, err := pgx.Connect(context.Background(), dsn())
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close(context.Background())
	traced, err := xraypgx.Connect(context.Background(), dsn())
	if err != nil {
		b.Fatal(err)
	}
	defer traced.Close(context.Background())
	for _, v := range []struct {
		name string
		conn *pgx.Conn
		rec  *xray.Recorder
	}{{"plain", plain, nil}, {"unsampled", traced, never}, {"sampled", traced, r}} {
		b.Run(v.name, func(b *testing.B) {
			ctx := context.Background()
			var seg *xray.Segment
			if v.rec != nil {
				ctx, seg = v.rec.BeginSegment(ctx, "bench")
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				var one int
				if err := v.conn.QueryRow(ctx, "SELECT $1::int", 1).Scan(&one); err != nil {
					b.Fatal(err)
				}
				if n++; n%1000 == 0 && seg != nil {
					b.StopTimer()
					seg.Close(nil)
					ctx, seg = v.rec.BeginSegment(context.Background(), "bench")
					b.StartTimer()
				}
			}
			seg.Close(nil)
		})
	}
}

// The literal forms go-sqllexer alone let through, and values PostgreSQL
// quotes back in its errors, never reach the daemon from pgx either.
func TestHostileLiteralsNotRecorded(t *testing.T) {
	c := connect(t)
	tr := newTracing(t)
	queries := []string{
		"SELECT 1 /* a /* b */ ZqxLeak1 */",
		"SELECT $t$ZqxLeak2$t$",
		"SELECT 'ZqxLeak3''s' || $x$ $$ ZqxLeak4 $x$",
		"SELECT E'\\'ZqxLeak5'",
		"SELECT 'it''s ZqxLeak6'::int", // the error quotes the value
		"SELECT '{\"ZqxLeak7\": 1}'::jsonb -> 'a', 0x6b1ea",
		"ALTER ROLE nobody_xraypgx PASSWORD 'ZqxLeak8'",
		"SELECT $a$ZqxLeak9",
	}
	tr.segment(func(ctx context.Context) {
		for _, q := range queries {
			rows, err := c.Query(ctx, q)
			if err == nil {
				rows.Close()
			}
		}
	})
	raw := ""
	for _, dg := range tr.d.Datagrams() {
		raw += string(dg.Raw)
	}
	for i := 1; i <= 9; i++ {
		if m := fmt.Sprintf("ZqxLeak%d", i); strings.Contains(raw, m) {
			t.Errorf("%s reached the daemon", m)
		}
	}
	if !strings.Contains(raw, "jsonb") {
		t.Error("the statements were not recorded at all")
	}
}

// SQLComment: the statement pg_stat_activity shows names the trace and the
// query's subsegment; on a connection that caches statements it is left
// alone.
func TestSQLComment(t *testing.T) {
	ctx := context.Background()
	observer, err := pgx.Connect(ctx, dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer observer.Close(ctx)
	running := func(prefix string) string { return runningStatement(ctx, observer, prefix) }
	for _, mode := range []string{"exec", "cache_statement"} {
		t.Run(mode, func(t *testing.T) {
			cfg, err := pgx.ParseConfig(dsn() + "&default_query_exec_mode=" + mode)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Tracer = xraypgx.NewTracer()
			c, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			tr := newTracing(t)
			seen := make(chan string, 1)
			doc := tr.segment(func(ctx context.Context) {
				done := make(chan struct{})
				go func() {
					defer close(done)
					if _, err := c.Exec(ctx, "SELECT pg_sleep(0.4)", xraypgx.SQLComment{}); err != nil {
						t.Error(err)
					}
				}()
				seen <- running("SELECT pg_sleep")
				<-done
			})
			text := <-seen
			subs := sqlSubs(doc)
			if len(subs) != 1 {
				t.Fatalf("%d sql subsegments", len(subs))
			}
			traceID := doc.String("trace_id")
			w3c := "00-" + traceID[2:10] + traceID[11:] + "-" + subs[0].ID() + "-01"
			commented := strings.Contains(text, "traceparent='"+w3c+"'")
			if commented != (mode == "exec") {
				t.Errorf("%s: the server saw %q", mode, text)
			}
			if q := subs[0].Object("sql")["sanitized_query"].(string); strings.Contains(q, "traceparent") {
				t.Errorf("recorded statement holds the comment: %q", q)
			}
		})
	}
}

// WithSQLCommenter: in the modes that send each statement's text, the
// statement PostgreSQL sees running names the trace and the query's
// subsegment; queries, batches and COPY work as before; in the caching
// mode nothing changes.
func TestWithSQLCommenter(t *testing.T) {
	ctx := context.Background()
	observer, err := pgx.Connect(ctx, dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer observer.Close(ctx)
	running := func(prefix string) string { return runningStatement(ctx, observer, prefix) }
	for _, mode := range []string{"exec", "simple_protocol", "describe_exec", "cache_statement"} {
		t.Run(mode, func(t *testing.T) {
			c, err := xraypgx.Connect(ctx, dsn()+"&default_query_exec_mode="+mode, xraypgx.WithSQLCommenter())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			if _, err := c.Exec(ctx, "CREATE TABLE IF NOT EXISTS xraypgx_comment (id INT, name TEXT)"); err != nil {
				t.Fatal(err)
			}
			tr := newTracing(t)
			seen := make(chan string, 1)
			doc := tr.segment(func(ctx context.Context) {
				done := make(chan struct{})
				go func() {
					defer close(done)
					if _, err := c.Exec(ctx, "SELECT pg_sleep(0.3);"); err != nil {
						t.Error(err)
					}
				}()
				seen <- running("SELECT pg_sleep")
				<-done
				// Queries, a batch and COPY still work, with their values.
				var n int
				var s string
				if err := c.QueryRow(ctx, "SELECT $1::int + 1, $2::text", 41, "a'b").Scan(&n, &s); err != nil || n != 42 || s != "a'b" {
					t.Errorf("query: %d %q %v", n, s, err)
				}
				b := &pgx.Batch{}
				b.Queue("SELECT 1")
				b.Queue("SELECT $1::text", "x")
				if err := c.SendBatch(ctx, b).Close(); err != nil {
					t.Errorf("batch: %v", err)
				}
				if _, err := c.CopyFrom(ctx, pgx.Identifier{"xraypgx_comment"}, []string{"id", "name"}, pgx.CopyFromRows([][]any{{1, "x"}})); err != nil {
					t.Errorf("copy: %v", err)
				}
			})
			text := <-seen
			subs := sqlSubs(doc)
			if len(subs) < 4 {
				t.Fatalf("%d sql subsegments", len(subs))
			}
			traceID := doc.String("trace_id")
			w3c := "00-" + traceID[2:10] + traceID[11:] + "-" + subs[0].ID() + "-01"
			if commented := strings.Contains(text, "traceparent='"+w3c+"'"); commented != (mode != "cache_statement") {
				t.Errorf("%s: the server saw %q (want traceparent %s: %v)", mode, text, w3c, mode != "cache_statement")
			}
			if mode != "cache_statement" && !strings.HasSuffix(strings.TrimSpace(text), "*/;") {
				t.Errorf("the comment goes before the semicolon: %q", text)
			}
			for _, s := range subs {
				if q, _ := s.Object("sql")["sanitized_query"].(string); strings.Contains(q, "traceparent") {
					t.Errorf("recorded statement holds the comment: %q", q)
				}
			}
		})
	}
}

// runningStatement returns the text of the statement starting with prefix
// that another connection is running, as pg_stat_activity shows it, or ""
// after 5 seconds.
func runningStatement(ctx context.Context, observer *pgx.Conn, prefix string) string {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var q string
		if observer.QueryRow(ctx, "SELECT query FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid() LIMIT 1", prefix+"%").Scan(&q) == nil {
			return q
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ""
}
