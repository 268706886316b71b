package drivertest

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openxray/xray/xraysql"
)

// Secrets that appear in DSNs, statement literals and bound arguments.
// None may appear in any datagram.
var secrets = []string{
	pgPassword, myPassword,
	"leak-alice@example.com", "9876543210", "O'Hara-secret", "dollar-body-secret",
	"in-list-secret", "3.14159", "param-bob@example.com", "param-424242",
	"tok-SECRET-123", "sig-SECRET-456", "cred-SECRET-789", "comment-secret",
}

// leakStatements are statements full of literals; each runs on every
// database. The SQL is portable enough for the three engines, and the
// dialect-specific ones say where they run.
var leakStatements = []struct {
	query string
	args  []any
	only  string // "" for every engine
}{
	{"SELECT 'leak-alice@example.com' AS email, 9876543210 AS n, 3.14159 AS pi", nil, ""},
	{"SELECT 'O''Hara-secret' AS name", nil, ""},
	{"SELECT 1 WHERE 'in-list-secret' IN ('in-list-secret', 'b', 'c') /* comment-secret */", nil, ""},
	{"SELECT $body$dollar-body-secret$body$", nil, "PostgreSQL"},
	{"SELECT 'it\\'s', \"O'Hara-secret\"", nil, "MySQL"},
}

func leakArgs(engine string) (string, []any) {
	switch engine {
	case "PostgreSQL":
		return "SELECT $1::text, $2::int", []any{"param-bob@example.com", 424242}
	default:
		return "SELECT ?, ?", []any{"param-bob@example.com", "param-424242"}
	}
}

func TestNoSecretInAnyDatagram(t *testing.T) {
	ensureMySQLUser(t)
	mustReach(t, "pgx", pgURL())
	dbs := []struct {
		engine, driver, dsn string
		connectOnly         bool
	}{
		// An RDS IAM style URL: PostgreSQL refuses the X-Amz parameters
		// as settings, so only the failed connection is recorded.
		{"PostgreSQL", "pgx", pgURL() + "&X-Amz-Security-Token=tok-SECRET-123&X-Amz-Signature=sig-SECRET-456&X-Amz-Credential=cred-SECRET-789", true},
		{"PostgreSQL", "pgx", pgURL(), false},
		{"PostgreSQL", "postgres", pgKeyValue(), false},
		{"MySQL", "mysql", myDSN(), false},
		{"SQLite", "sqlite", "file:" + filepath.Join(t.TempDir(), "leak.db") + "?_pragma=busy_timeout(5000)", false},
	}
	tr := newTracing(t)
	for _, d := range dbs {
		db, err := xraysql.Open(d.driver, d.dsn)
		must(t, err)
		func() {
			defer db.Close()
			tr.segment("leak-"+d.driver, func(ctx context.Context) {
				if d.connectOnly {
					if db.PingContext(ctx) == nil {
						t.Error("connection with X-Amz parameters succeeded")
					}
					return
				}
				for _, st := range leakStatements {
					if st.only != "" && st.only != d.engine {
						continue
					}
					run(t, ctx, db, d.driver, st.query, st.args...)
				}
				q, args := leakArgs(d.engine)
				run(t, ctx, db, d.driver, q, args...)
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					t.Errorf("%s: begin: %v", d.driver, err)
					return
				}
				run(t, ctx, tx, d.driver, q, args...)
				tx.Rollback()
			})
		}()
	}
	raw := tr.rawDatagrams()
	if len(raw) < 1000 {
		t.Fatalf("only %d bytes arrived", len(raw))
	}
	for _, s := range secrets {
		if strings.Contains(raw, s) {
			i := strings.Index(raw, s)
			t.Errorf("%q reached the daemon: ...%s...", s, raw[max(0, i-200):min(len(raw), i+100)])
		}
	}
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func run(t *testing.T, ctx context.Context, db queryer, driver, q string, args ...any) {
	t.Helper()
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		t.Errorf("%s: %q: %v", driver, q, err)
		return
	}
	for rows.Next() {
	}
	rows.Close()
}

// Options never make the sanitized default leak either.
func TestParametersNeedOptIn(t *testing.T) {
	tr := newTracing(t)
	db, err := xraysql.Open("sqlite", ":memory:", xraysql.WithoutDatabaseVersion())
	must(t, err)
	defer db.Close()
	tr.segment("no-params", func(ctx context.Context) {
		var s string
		must(t, db.QueryRowContext(ctx, "SELECT ?", "param-bob@example.com").Scan(&s))
	})
	if strings.Contains(tr.rawDatagrams(), "param-bob") {
		t.Error("parameter recorded without WithParameters")
	}
}
