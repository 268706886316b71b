package xraysql_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"log"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/xraysql"
)

// The examples open databases through drivers that the core module does
// not depend on (github.com/jackc/pgx/v5/stdlib registers "pgx"); they are
// compiled, not run. xraysql/drivertest runs the same calls against real
// servers.

func ExampleOpen() {
	db, err := xraysql.Open("pgx", "postgres://app@db.internal:5432/orders",
		xraysql.WithSlowQueryThreshold(200*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	ctx, seg := xray.BeginSegment(context.Background(), "orders-api")
	defer seg.Close(nil)
	// One subsegment "orders@db.internal" with the sanitized statement:
	// SELECT total FROM orders WHERE customer = $1 AND status = ?
	var total int
	err = db.QueryRowContext(ctx, "SELECT total FROM orders WHERE customer = $1 AND status = 'open'", 42).Scan(&total)
	if err != nil && err != sql.ErrNoRows {
		log.Print(err)
	}
}

func ExampleOpenDB() {
	var connector driver.Connector // from the driver, e.g. mysql.NewConnector(cfg)
	if connector == nil {
		return
	}
	db := xraysql.OpenDB(connector, xraysql.WithDSN("app@tcp(db.internal:3306)/shop"))
	defer db.Close()
}

func ExampleRegister() {
	// For code that opens databases by name (sqlx, migration tools).
	db0, err := sql.Open("pgx", "")
	if err != nil {
		return
	}
	drv := db0.Driver()
	db0.Close()
	if err := xraysql.Register("pgx-traced", drv); err != nil {
		log.Fatal(err)
	}
	db, err := sql.Open("pgx-traced", "postgres://app@db.internal/orders")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
}

func ExampleWithParameters() {
	// Record how many arguments a statement had, never their values.
	db, err := xraysql.Open("pgx", "postgres://app@db.internal/orders",
		xraysql.WithParameters(func(query string, args []driver.NamedValue) any {
			return map[string]int{"count": len(args)}
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
}

func ExampleRecordPoolStats() {
	db, err := xraysql.Open("pgx", "postgres://app@db.internal/orders")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx, seg := xray.BeginSegment(context.Background(), "report")
	defer seg.Close(nil)
	// Metadata "database": open_connections, in_use, idle, wait_count...
	xraysql.RecordPoolStats(ctx, db)
}

func ExampleUnwrap() {
	db, err := xraysql.Open("pgx", "postgres://app@db.internal/orders")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		return
	}
	defer conn.Close()
	conn.Raw(func(dc any) error {
		_ = xraysql.Unwrap(dc) // *stdlib.Conn, the driver's own connection
		return nil
	})
}

// Statements carry their trace context for the database's own logs; with
// pgx, in a query mode without a statement cache.
func ExampleWithSQLCommenter() {
	db, err := xraysql.Open("pgx", "postgres://app@db.internal/orders?default_query_exec_mode=exec", xraysql.WithSQLCommenter())
	if err != nil {
		log.Fatal(err)
	}
	ctx, seg := xray.BeginSegment(context.Background(), "orders-api")
	defer seg.Close(nil)
	// PostgreSQL sees: SELECT ... /*traceparent='00-...-...-01',x-amzn-trace-id='Root%3D...'*/
	db.QueryRowContext(ctx, "SELECT total FROM orders WHERE id = $1", 42)
}
