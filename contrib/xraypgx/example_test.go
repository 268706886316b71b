package xraypgx_test

import (
	"context"
	"log"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xraypgx"
)

func ExampleNewTracer() {
	cfg, err := pgxpool.ParseConfig("postgres://app@db.internal:5432/orders")
	if err != nil {
		log.Fatal(err)
	}
	cfg.ConnConfig.Tracer = xraypgx.NewTracer(xraypgx.WithBatchStatements())
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	ctx, seg := xray.BeginSegment(context.Background(), "orders-api")
	defer seg.Close(nil)
	batch := &pgx.Batch{}
	batch.Queue("UPDATE orders SET status = 'shipped' WHERE id = $1", 7)
	pool.SendBatch(ctx, batch).Close() // one subsegment, with one per statement under it
}

func ExampleWithSQLCommenter() {
	ctx := context.Background()
	pool, err := xraypgx.NewPool(ctx, "postgres://app@db.internal/orders?default_query_exec_mode=exec", xraypgx.WithSQLCommenter())
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	ctx, seg := xray.BeginSegment(ctx, "orders-api")
	defer seg.Close(nil)
	// pg_stat_activity shows the statement with its trace context.
	pool.QueryRow(ctx, "SELECT total FROM orders WHERE id = $1", 42)
}
