package drivertest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/openxray/xray/xraysql"
	"github.com/openxray/xray/xraytest"
)

// postgresDrivers are the two PostgreSQL drivers, each with a DSN form.
var postgresDrivers = []struct{ name, dsn string }{
	{"pgx", pgURL()},
	{"postgres", pgKeyValue()},
}

func setupPostgres(t *testing.T, driverName, dsn, table string) *sql.DB {
	t.Helper()
	mustReach(t, driverName, dsn)
	db, err := xraysql.Open(driverName, dsn)
	must(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = db.Exec("DROP TABLE IF EXISTS " + table)
	must(t, err)
	_, err = db.Exec("CREATE TABLE " + table + " (id SERIAL PRIMARY KEY, email TEXT UNIQUE NOT NULL, name TEXT)")
	must(t, err)
	return db
}

func TestPostgresTransaction(t *testing.T) {
	for _, drv := range postgresDrivers {
		t.Run(drv.name, func(t *testing.T) {
			table := "xray_tx_" + drv.name
			db := setupPostgres(t, drv.name, drv.dsn, table)
			tr := newTracing(t)

			doc := tr.segment("postgresql-operations", func(ctx context.Context) {
				tx, err := db.BeginTx(ctx, nil)
				must(t, err)
				var id int
				must(t, tx.QueryRowContext(ctx, "INSERT INTO "+table+" (email, name) VALUES ($1, $2) RETURNING id", "ann@example.com", "Ann").Scan(&id))
				// The request's context, not the transaction's: the
				// statements still belong to the transaction.
				_, err = tx.ExecContext(ctx, "INSERT INTO "+table+" (email, name) VALUES ($1, 'Bob Literal')", "bob@example.com")
				must(t, err)
				_, err = tx.ExecContext(context.WithValue(ctx, struct{}{}, 1), "INSERT INTO "+table+" (email) VALUES ($1)", "cy@example.com")
				must(t, err)
				must(t, tx.Commit())
			})
			var txDoc xraytest.Document
			for _, s := range sqlSubsegments(doc) {
				if metadata(s, "sql", "transaction") == "committed" {
					txDoc = s
				}
			}
			if txDoc == nil {
				t.Fatalf("no committed transaction: %v", doc)
			}
			children := txDoc.Subsegments()
			if len(children) != 3 {
				t.Fatalf("transaction holds %d subsegments, want 3", len(children))
			}
			first := children[0].Object("sql")
			if first["sanitized_query"] != "INSERT INTO "+table+" ( email, name ) VALUES ( $1, $2 ) RETURNING id" {
				t.Errorf("sanitized_query = %q", first["sanitized_query"])
			}
			if metadata(children[0], "sql", "rows_read") != 1.0 || metadata(children[1], "sql", "rows_affected") != 1.0 {
				t.Errorf("rows: %v / %v", metadata(children[0], "sql", "rows_read"), metadata(children[1], "sql", "rows_affected"))
			}
			for _, s := range sqlSubsegments(doc) {
				b := s.Object("sql")
				if s.Name() != "test@127.0.0.1" || b["database_type"] != "PostgreSQL" || b["user"] != "postgres" {
					t.Errorf("%s: %v", s.Name(), b)
				}
			}
			raw := tr.rawDatagrams()
			for _, secret := range []string{pgPassword, "ann@example.com", "Bob Literal", "Ann"} {
				if strings.Contains(raw, secret) {
					t.Errorf("%q reached the daemon", secret)
				}
			}

			doc = tr.segment("rollback", func(ctx context.Context) {
				tx, err := db.BeginTx(ctx, nil)
				must(t, err)
				_, err = tx.ExecContext(ctx, "INSERT INTO "+table+" (email) VALUES ($1)", "dan@example.com")
				must(t, err)
				must(t, tx.Rollback())
			})
			var rolled bool
			for _, s := range sqlSubsegments(doc) {
				if metadata(s, "sql", "transaction") == "rolled back" && len(s.Subsegments()) == 1 {
					rolled = true
				}
			}
			if !rolled {
				t.Errorf("no rolled back transaction with its insert: %v", doc)
			}
		})
	}
}

func TestPostgresUniqueViolation(t *testing.T) {
	for _, drv := range postgresDrivers {
		t.Run(drv.name, func(t *testing.T) {
			table := "xray_dup_" + drv.name
			db := setupPostgres(t, drv.name, drv.dsn, table)
			_, err := db.Exec("INSERT INTO "+table+" (email) VALUES ($1)", "taken@example.com")
			must(t, err)
			tr := newTracing(t)
			doc := tr.segment("dup", func(ctx context.Context) {
				_, err := db.ExecContext(ctx, "INSERT INTO "+table+" (email) VALUES ($1)", "taken@example.com")
				if err == nil {
					t.Fatal("duplicate accepted")
				}
			})
			sub := queries(doc)[0]
			if !sub.Bool("error") || sub.Bool("fault") {
				t.Errorf("flags: error=%v fault=%v", sub.Bool("error"), sub.Bool("fault"))
			}
			ex := exceptions(sub)
			if len(ex) != 1 || !strings.Contains(ex[0]["message"].(string), "23505") || ex[0]["remote"] != true {
				t.Errorf("cause = %v", ex)
			}
			if strings.Contains(tr.rawDatagrams(), "taken@example.com") {
				t.Error("parameter value leaked")
			}
		})
	}
}

func TestClosedPortIsFault(t *testing.T) {
	for _, drv := range []struct{ name, dsn string }{
		{"pgx", "postgres://postgres:" + pgPassword + "@127.0.0.1:1/test?sslmode=disable&connect_timeout=5"},
		{"postgres", "host=127.0.0.1 port=1 user=postgres password=" + pgPassword + " dbname=test sslmode=disable connect_timeout=5"},
		{"mysql", myUser + ":" + myPassword + "@tcp(127.0.0.1:1)/test?timeout=5s"},
	} {
		t.Run(drv.name, func(t *testing.T) {
			db, err := xraysql.Open(drv.name, drv.dsn)
			must(t, err)
			defer db.Close()
			tr := newTracing(t)
			doc := tr.segment("down", func(ctx context.Context) {
				if err := db.PingContext(ctx); err == nil {
					t.Fatal("ping of a closed port succeeded")
				}
			})
			subs := sqlSubsegments(doc)
			if len(subs) == 0 {
				t.Fatalf("the failed connection left no subsegment: %v", doc)
			}
			for _, s := range subs {
				if !s.Bool("fault") || len(exceptions(s)) == 0 {
					t.Errorf("subsegment %v is not a fault with a cause", s)
				}
			}
			if strings.Contains(tr.rawDatagrams(), pgPassword) || strings.Contains(tr.rawDatagrams(), myPassword) {
				t.Error("password leaked")
			}
		})
	}
}

func TestRawReturnsDriverConn(t *testing.T) {
	mustReach(t, "pgx", pgURL())
	db, err := xraysql.Open("pgx", pgURL())
	must(t, err)
	defer db.Close()
	conn, err := db.Conn(context.Background())
	must(t, err)
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c, ok := xraysql.Unwrap(dc).(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("Unwrap gave %T", xraysql.Unwrap(dc))
		}
		if v := c.Conn().PgConn().ParameterStatus("server_version"); v == "" {
			return fmt.Errorf("no server_version")
		}
		return nil
	})
	must(t, err)
}

// pgx's stdlib checks arguments on its connection only; statements must
// hand their checks to it, or pgx's own types would be refused.
func TestPgxArgumentsThroughStatements(t *testing.T) {
	db := setupPostgres(t, "pgx", pgURL(), "xray_args")
	stmt, err := db.Prepare("SELECT $1::int[]")
	must(t, err)
	defer stmt.Close()
	var out string
	must(t, stmt.QueryRow([]int32{1, 2, 3}).Scan(&out))
	if out != "{1,2,3}" {
		t.Errorf("got %q", out)
	}
	types, err := func() ([]*sql.ColumnType, error) {
		rows, err := db.Query("SELECT email FROM xray_args")
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		return rows.ColumnTypes()
	}()
	must(t, err)
	if types[0].DatabaseTypeName() != "TEXT" {
		t.Errorf("column type = %q", types[0].DatabaseTypeName())
	}
}

// A call that waits for the only connection records how long it waited.
func TestPoolWait(t *testing.T) {
	mustReach(t, "pgx", pgURL())
	db, err := xraysql.Open("pgx", pgURL(), xraysql.WithPoolWait(), xraysql.WithoutDatabaseVersion())
	must(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	must(t, db.Ping())
	tr := newTracing(t)
	holding := make(chan struct{})
	released := make(chan struct{})
	go func() {
		defer close(released)
		tx, err := db.Begin()
		if err != nil {
			t.Error(err)
			close(holding)
			return
		}
		close(holding)
		time.Sleep(150 * time.Millisecond)
		tx.Commit()
	}()
	<-holding
	doc := tr.segment("waiting", func(ctx context.Context) {
		var one int
		must(t, db.QueryRowContext(ctx, "SELECT 1").Scan(&one))
	})
	<-released
	q := queries(doc)
	if len(q) != 1 {
		t.Fatalf("queries: %v", doc)
	}
	wait, ok := metadata(q[0], "database", "pool_wait_ms").(float64)
	if !ok || wait < 100 || wait > 5000 {
		t.Errorf("pool_wait_ms = %v, want about 150", metadata(q[0], "database", "pool_wait_ms"))
	}
	// The next call does not wait and records nothing.
	doc = tr.segment("free", func(ctx context.Context) {
		var one int
		must(t, db.QueryRowContext(ctx, "SELECT 1").Scan(&one))
	})
	if v := metadata(queries(doc)[0], "database", "pool_wait_ms"); v != nil {
		t.Errorf("a call that did not wait recorded %v", v)
	}
}
