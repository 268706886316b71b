package drivertest

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraysql"
)

// discard drops documents: the benchmarks measure the caller's side.
type discard struct{}

func (discard) Emit([]byte)                    {}
func (discard) Flush(context.Context) error    { return nil }
func (discard) Shutdown(context.Context) error { return nil }

func benchDB(b *testing.B, traced bool) *sql.DB {
	var db *sql.DB
	var err error
	if traced {
		db, err = xraysql.Open("sqlite", ":memory:", xraysql.WithoutDatabaseVersion())
	} else {
		db, err = sql.Open("sqlite", ":memory:")
	}
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1) // one in-memory database
	if _, err := db.Exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT)"); err != nil {
		b.Fatal(err)
	}
	tx, _ := db.Begin()
	for i := 1; i <= 1000; i++ {
		tx.Exec("INSERT INTO users (id, name, email) VALUES (?, ?, ?)", i, fmt.Sprint("user", i), fmt.Sprint("user", i, "@example.com"))
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// variant runs a workload with a database and a context of each kind:
// plain database/sql; traced without a segment in the context; traced in
// an unsampled segment; traced in a sampled segment. Sampled segments are
// replaced every 1,000 operations outside the timer, with streaming off:
// what is timed is the work on the caller's goroutine.
func variants(b *testing.B, op func(ctx context.Context, db *sql.DB) error) {
	r, err := xray.New(xray.Config{Emitter: discard{}, SamplingStrategy: sampling.Always, StreamingThreshold: -1,
		ContextMissingStrategy: xray.NewIgnoreErrorStrategy()})
	if err != nil {
		b.Fatal(err)
	}
	never, err := xray.New(xray.Config{Emitter: discard{}, SamplingStrategy: sampling.Never})
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name   string
		traced bool
		begin  func() (context.Context, *xray.Segment)
	}{
		{"plain", false, func() (context.Context, *xray.Segment) { return context.Background(), nil }},
		{"nosegment", true, func() (context.Context, *xray.Segment) { return context.Background(), nil }},
		{"unsampled", true, func() (context.Context, *xray.Segment) { return never.BeginSegment(context.Background(), "bench") }},
		{"sampled", true, func() (context.Context, *xray.Segment) { return r.BeginSegment(context.Background(), "bench") }},
	} {
		b.Run(v.name, func(b *testing.B) {
			db := benchDB(b, v.traced)
			ctx, seg := v.begin()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if err := op(ctx, db); err != nil {
					b.Fatal(err)
				}
				if n++; n%1000 == 0 && seg != nil {
					b.StopTimer()
					seg.Close(nil)
					ctx, seg = v.begin()
					b.StartTimer()
				}
			}
			seg.Close(nil)
		})
	}
}

// W1: a point query.
func BenchmarkQueryRow(b *testing.B) {
	variants(b, func(ctx context.Context, db *sql.DB) error {
		var name, email string
		return db.QueryRowContext(ctx, "SELECT name, email FROM users WHERE id = ?", 42).Scan(&name, &email)
	})
}

// W2: an update.
func BenchmarkExec(b *testing.B) {
	variants(b, func(ctx context.Context, db *sql.DB) error {
		_, err := db.ExecContext(ctx, "UPDATE users SET name = ? WHERE id = ?", "renamed", 42)
		return err
	})
}

// W3: a transaction of three statements.
func BenchmarkTransaction(b *testing.B) {
	variants(b, func(ctx context.Context, db *sql.DB) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, id := range []int{1, 2, 3} {
			if _, err := tx.ExecContext(ctx, "UPDATE users SET name = ? WHERE id = ?", "tx", id); err != nil {
				tx.Rollback()
				return err
			}
		}
		return tx.Commit()
	})
}
