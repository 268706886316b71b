package drivertest

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray/xraysql"
	"github.com/openxray/xray/xraytest"
)

// watchStatement runs query through db in a segment while a second,
// untraced connection (observer) polls what the server says is running,
// and returns the statement text the server saw and the trace.
func watchStatement(t *testing.T, db *sql.DB, observer *sql.DB, query, activity string) (string, xraytest.Document) {
	t.Helper()
	tr := newTracing(t)
	seen := make(chan string, 1)
	doc := tr.segment("commenter", func(ctx context.Context) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			if _, err := db.ExecContext(ctx, query); err != nil {
				t.Errorf("%s: %v", query, err)
			}
		}()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			var text string
			if err := observer.QueryRow(activity).Scan(&text); err == nil {
				seen <- text
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		<-done
	})
	select {
	case s := <-seen:
		return s, doc
	default:
		t.Fatalf("the server never showed %q running", query)
		return "", doc
	}
}

func checkComment(t *testing.T, text string, doc xraytest.Document, query string) {
	t.Helper()
	sub := queries(doc)
	if len(sub) != 1 {
		t.Fatalf("%d queries recorded", len(sub))
	}
	traceID := doc.String("trace_id")
	w3c := "00-" + traceID[2:10] + traceID[11:] + "-" + sub[0].ID() + "-01"
	if !strings.Contains(text, "traceparent='"+w3c+"'") || !strings.Contains(text, "x-amzn-trace-id='Root%3D"+traceID+"%3BParent%3D"+sub[0].ID()+"%3BSampled%3D1'") {
		t.Errorf("the server saw %q; want traceparent %s", text, w3c)
	}
	if q := sub[0].Object("sql")["sanitized_query"].(string); strings.Contains(q, "traceparent") || strings.Contains(q, "/*") {
		t.Errorf("the recorded statement holds the comment: %q", q)
	}
}

// On PostgreSQL the comment is in pg_stat_activity while the statement
// runs, seen from a second connection.
func TestSQLCommenterPostgreSQL(t *testing.T) {
	mustReach(t, "pgx", pgURL())
	observer, err := sql.Open("pgx", pgURL())
	if err != nil {
		t.Fatal(err)
	}
	defer observer.Close()
	const activity = `SELECT query FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND pid <> pg_backend_pid() LIMIT 1`
	for _, c := range []struct{ driver, dsn string }{
		{"pgx", pgURL() + "&default_query_exec_mode=exec"},
		{"postgres", pgKeyValue()},
	} {
		t.Run(c.driver, func(t *testing.T) {
			db, err := xraysql.Open(c.driver, c.dsn, xraysql.WithSQLCommenter(), xraysql.WithoutDatabaseVersion())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			text, doc := watchStatement(t, db, observer, "SELECT pg_sleep(0.4)", activity)
			checkComment(t, text, doc, "SELECT pg_sleep(0.4)")
		})
	}
	// pgx's default mode caches statements by text: no comment, so the
	// cache keeps working.
	t.Run("pgx-cached", func(t *testing.T) {
		db, err := xraysql.Open("pgx", pgURL(), xraysql.WithSQLCommenter(), xraysql.WithoutDatabaseVersion())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		text, _ := watchStatement(t, db, observer, "SELECT pg_sleep(0.3)", activity)
		if strings.Contains(text, "traceparent") {
			t.Errorf("a cached pgx statement was commented: %q", text)
		}
	})
}

// On MariaDB the comment is in the process list while the statement runs.
func TestSQLCommenterMariaDB(t *testing.T) {
	ensureMySQLUser(t)
	observer, err := sql.Open("mysql", myRootDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer observer.Close()
	db, err := xraysql.Open("mysql", myDSN(), xraysql.WithSQLCommenter(), xraysql.WithoutDatabaseVersion())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const activity = `SELECT INFO FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP%' LIMIT 1`
	text, doc := watchStatement(t, db, observer, "SELECT SLEEP(0.4)", activity)
	checkComment(t, text, doc, "SELECT SLEEP(0.4)")
}

// BenchmarkSQLCommenterPostgreSQL measures a point query on the real
// PostgreSQL through pgx: with pgx's statement cache (its default, where
// statements are not commented), in exec mode without and with the
// comment. The difference between the first two is what giving up the
// cache costs; between the last two, what the comment costs.
func BenchmarkSQLCommenterPostgreSQL(b *testing.B) {
	mustReach(b, "pgx", pgURL())
	setup, err := sql.Open("pgx", pgURL())
	if err != nil {
		b.Fatal(err)
	}
	setup.Exec("CREATE TABLE IF NOT EXISTS commenter_bench (id INT PRIMARY KEY, name TEXT)")
	setup.Exec("INSERT INTO commenter_bench SELECT g, 'n' || g FROM generate_series(1, 100) g ON CONFLICT DO NOTHING")
	setup.Close()
	for _, c := range []struct {
		name, dsn string
		opts      []xraysql.Option
	}{
		{"cached", pgURL(), nil},
		{"exec", pgURL() + "&default_query_exec_mode=exec", nil},
		{"exec-commented", pgURL() + "&default_query_exec_mode=exec", []xraysql.Option{xraysql.WithSQLCommenter()}},
	} {
		b.Run(c.name, func(b *testing.B) {
			tr := newTracing(b)
			db, err := xraysql.Open("pgx", c.dsn, append(c.opts, xraysql.WithoutDatabaseVersion())...)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			ctx, seg := tr.rec.BeginSegment(context.Background(), "bench")
			defer seg.Close(nil)
			b.ReportAllocs()
			var name string
			n := 0
			for b.Loop() {
				if err := db.QueryRowContext(ctx, "SELECT name FROM commenter_bench WHERE id = $1", 42).Scan(&name); err != nil {
					b.Fatal(err)
				}
				if n++; n%100 == 0 {
					seg.Close(nil)
					ctx, seg = tr.rec.BeginSegment(context.Background(), "bench")
				}
			}
		})
	}
}
