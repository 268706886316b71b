package drivertest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray/xraysql"
	"github.com/openxray/xray/xraytest"
)

// The seed's SQLite flow: create, insert with a parameter, a LIKE query with
// literals in its text, a batch of inserts, commit.
func TestSQLiteSeedFlow(t *testing.T) {
	tr := newTracing(t)
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := xraysql.Open("sqlite", path)
	must(t, err)
	defer db.Close()

	doc := tr.segment("sqlite-operations", func(ctx context.Context) {
		_, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT)")
		must(t, err)
		_, err = db.ExecContext(ctx, "INSERT INTO users (name) VALUES (?)", "John Doe")
		must(t, err)
		rows, err := db.QueryContext(ctx, "SELECT * FROM users WHERE name LIKE '%John%' AND id > 0")
		must(t, err)
		n := 0
		for rows.Next() {
			n++
		}
		must(t, rows.Close())
		if n != 1 {
			t.Errorf("read %d rows", n)
		}
		tx, err := db.BeginTx(ctx, nil)
		must(t, err)
		stmt, err := tx.PrepareContext(ctx, "INSERT INTO users (name) VALUES (?)")
		must(t, err)
		for _, name := range []string{"Alice", "Bob", "Charlie"} {
			_, err := stmt.ExecContext(ctx, name)
			must(t, err)
		}
		must(t, stmt.Close())
		must(t, tx.Commit())
	})

	subs := sqlSubsegments(doc)
	if len(subs) < 5 {
		t.Fatalf("got %d sql subsegments: %v", len(subs), doc)
	}
	for _, s := range subs {
		sqlb := s.Object("sql")
		if s.Name() != "app.db" || s.String("namespace") != "remote" || sqlb["database_type"] != "SQLite" {
			t.Errorf("subsegment %s: namespace %q, sql %v", s.Name(), s.String("namespace"), sqlb)
		}
		// Test binaries carry no module versions: the path alone here.
		if v, _ := sqlb["driver_version"].(string); !strings.HasPrefix(v, "modernc.org/sqlite") {
			t.Errorf("driver_version = %q", v)
		}
		if strings.Contains(sqlb["connection_string"].(string), "app.db") == false {
			t.Errorf("connection_string = %v", sqlb["connection_string"])
		}
	}
	var like, insert xraytest.Document
	for _, s := range subs {
		switch q, _ := s.Object("sql")["sanitized_query"].(string); {
		case strings.HasPrefix(q, "SELECT"):
			like = s
		case strings.HasPrefix(q, "INSERT") && insert == nil:
			insert = s
		}
	}
	if q := like.Object("sql")["sanitized_query"]; q != "SELECT * FROM users WHERE name LIKE ? AND id > ?" {
		t.Errorf("LIKE query recorded as %q", q)
	}
	if metadata(like, "sql", "rows_read") != 1.0 {
		t.Errorf("rows_read = %v", metadata(like, "sql", "rows_read"))
	}
	if metadata(insert, "sql", "rows_affected") != 1.0 {
		t.Errorf("rows_affected = %v", metadata(insert, "sql", "rows_affected"))
	}
	// The transaction groups the prepare and the three inserts.
	var tx xraytest.Document
	for _, s := range subs {
		if metadata(s, "sql", "transaction") != nil {
			tx = s
		}
	}
	if tx == nil || metadata(tx, "sql", "transaction") != "committed" {
		t.Fatalf("no committed transaction subsegment: %v", doc)
	}
	children := tx.Subsegments()
	if len(children) != 4 {
		t.Fatalf("transaction has %d subsegments, want prepare + 3 inserts", len(children))
	}
	for _, c := range children[1:] {
		if c.Object("sql")["preparation"] != "statement" {
			t.Errorf("prepared insert: %v", c.Object("sql"))
		}
	}
	if strings.Contains(tr.rawDatagrams(), "John") || strings.Contains(tr.rawDatagrams(), "Alice") {
		t.Error("a literal or parameter value reached the daemon")
	}
}

// The server version is read once, in the background, and then appears.
func TestSQLiteDatabaseVersion(t *testing.T) {
	tr := newTracing(t)
	db, err := xraysql.Open("sqlite", filepath.Join(t.TempDir(), "v.db"))
	must(t, err)
	defer db.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		doc := tr.segment("version", func(ctx context.Context) {
			must(t, db.PingContext(ctx))
		})
		subs := sqlSubsegments(doc)
		if len(subs) > 0 && subs[len(subs)-1].Object("sql")["database_version"] != nil {
			if v := subs[len(subs)-1].Object("sql")["database_version"].(string); !strings.HasPrefix(v, "3.") {
				t.Errorf("database_version = %q", v)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("database_version never appeared")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSQLiteConstraintIsError(t *testing.T) {
	tr := newTracing(t)
	db, err := xraysql.Open("sqlite", filepath.Join(t.TempDir(), "c.db"), xraysql.WithoutDatabaseVersion())
	must(t, err)
	defer db.Close()
	_, err = db.Exec("CREATE TABLE u (email TEXT UNIQUE)")
	must(t, err)
	_, err = db.Exec("INSERT INTO u VALUES ('dup@example.com')")
	must(t, err)
	doc := tr.segment("dup", func(ctx context.Context) {
		if _, err := db.ExecContext(ctx, "INSERT INTO u VALUES (?)", "dup@example.com"); err == nil {
			t.Error("duplicate accepted")
		}
	})
	sub := queries(doc)[0]
	if !sub.Bool("error") || sub.Bool("fault") {
		t.Errorf("flags: error=%v fault=%v", sub.Bool("error"), sub.Bool("fault"))
	}
	ex := exceptions(sub)
	if len(ex) != 1 || !strings.Contains(ex[0]["message"].(string), "UNIQUE") || ex[0]["type"] != "*sqlite.Error" || ex[0]["remote"] != true {
		t.Errorf("cause = %v", ex)
	}
	if strings.Contains(tr.rawDatagrams(), "dup@example.com") {
		t.Error("parameter value leaked")
	}
}

func TestNoSegmentRunsUntraced(t *testing.T) {
	db, err := xraysql.Open("sqlite", ":memory:", xraysql.WithoutDatabaseVersion())
	must(t, err)
	defer db.Close()
	var one int
	must(t, db.QueryRowContext(context.Background(), "SELECT 1").Scan(&one))
	if one != 1 {
		t.Fatal(one)
	}
	// sql.ErrNoRows is the caller's business, not a failure.
	tr := newTracing(t)
	doc := tr.segment("norows", func(ctx context.Context) {
		err := db.QueryRowContext(ctx, "SELECT 1 WHERE 1 = 0").Scan(&one)
		if err != sql.ErrNoRows {
			t.Errorf("err = %v", err)
		}
	})
	sub := queries(doc)[0]
	if sub.Bool("error") || sub.Bool("fault") || metadata(sub, "sql", "rows_read") != 0.0 {
		t.Errorf("ErrNoRows marked the subsegment: %v", sub)
	}
}

func TestSlowQueryAndParameters(t *testing.T) {
	tr := newTracing(t)
	db, err := xraysql.Open("sqlite", ":memory:", xraysql.WithoutDatabaseVersion(),
		xraysql.WithSlowQueryThreshold(time.Nanosecond),
		xraysql.WithParameters(func(query string, args []driver.NamedValue) any {
			return len(args) // record only how many
		}))
	must(t, err)
	defer db.Close()
	doc := tr.segment("slow", func(ctx context.Context) {
		var s string
		must(t, db.QueryRowContext(ctx, "SELECT ? || ?", "a", "b").Scan(&s))
	})
	sub := queries(doc)[0]
	if sub.Object("annotations")["slow_query"] != true {
		t.Errorf("annotations = %v", sub.Object("annotations"))
	}
	if metadata(sub, "sql", "parameters") != 2.0 {
		t.Errorf("parameters = %v in %v", metadata(sub, "sql", "parameters"), sub)
	}
}

func TestRecordPoolStats(t *testing.T) {
	tr := newTracing(t)
	db, err := xraysql.Open("sqlite", ":memory:", xraysql.WithoutDatabaseVersion())
	must(t, err)
	defer db.Close()
	db.SetMaxOpenConns(3)
	doc := tr.segment("pool", func(ctx context.Context) {
		must(t, db.PingContext(ctx))
		xraysql.RecordPoolStats(ctx, db)
	})
	if metadata(doc, "database", "max_open_connections") != 3.0 || metadata(doc, "database", "open_connections") != 1.0 {
		t.Errorf("metadata = %v", doc.Object("metadata"))
	}
}

func TestRegisterForSQLOpen(t *testing.T) {
	db0, err := sql.Open("sqlite", ":memory:")
	must(t, err)
	drv := db0.Driver()
	db0.Close()
	must(t, xraysql.Register("sqlite-traced", drv, xraysql.WithoutDatabaseVersion()))
	if err := xraysql.Register("sqlite-traced", drv); err == nil {
		t.Error("registering a name twice: no error")
	}
	tr := newTracing(t)
	db, err := sql.Open("sqlite-traced", ":memory:")
	must(t, err)
	defer db.Close()
	doc := tr.segment("registered", func(ctx context.Context) {
		_, err := db.ExecContext(ctx, "CREATE TABLE t (a)")
		must(t, err)
	})
	if subs := sqlSubsegments(doc); len(subs) == 0 || subs[len(subs)-1].Object("sql")["database_type"] != "SQLite" {
		t.Errorf("registered driver not traced: %v", doc)
	}
}

// A statement cut at the length limit says so in metadata, and a long
// literal-free statement keeps its beginning.
func TestQueryTruncatedMetadata(t *testing.T) {
	tr := newTracing(t)
	db, err := xraysql.Open("sqlite", ":memory:", xraysql.WithoutDatabaseVersion(), xraysql.WithMaxQueryLength(12))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	doc := tr.segment("truncated", func(ctx context.Context) {
		var a, b, c int
		must(t, db.QueryRowContext(ctx, "SELECT 1 AS one, 2 AS two, 3 AS three").Scan(&a, &b, &c))
		must(t, db.QueryRowContext(ctx, "SELECT 1").Scan(&a))
	})
	qs := queries(doc)
	if len(qs) != 2 {
		t.Fatalf("%d queries", len(qs))
	}
	if q := qs[0].Object("sql")["sanitized_query"]; q != "SELECT ? AS ..." || metadata(qs[0], "sql", "query_truncated") != true {
		t.Errorf("long statement: %v, truncated %v", q, metadata(qs[0], "sql", "query_truncated"))
	}
	if metadata(qs[1], "sql", "query_truncated") != nil {
		t.Errorf("short statement marked truncated")
	}
}
