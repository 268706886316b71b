package xraypgx_test

import (
	"context"
	"testing"

	"github.com/openxray/xray/contrib/xraypgx"
	"github.com/openxray/xray/xraytest"
)

// BenchmarkSQLCommenter is a point query on the real PostgreSQL: pgx's
// statement cache (no comment), exec mode, exec mode with the comment.
func BenchmarkSQLCommenter(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		mode string
		opts []xraypgx.Option
	}{
		{"cached", "cache_statement", nil},
		{"exec", "exec", nil},
		{"exec-commented", "exec", []xraypgx.Option{xraypgx.WithSQLCommenter()}},
	} {
		b.Run(c.name, func(b *testing.B) {
			r, _ := xraytest.NewDaemonRecorder(b)
			conn, err := xraypgx.Connect(ctx, dsn()+"&default_query_exec_mode="+c.mode, c.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close(ctx)
			sctx, seg := r.BeginSegment(ctx, "bench")
			b.ReportAllocs()
			var n int
			i := 0
			for b.Loop() {
				if err := conn.QueryRow(sctx, "SELECT $1::int", 42).Scan(&n); err != nil {
					b.Fatal(err)
				}
				if i++; i%100 == 0 {
					seg.Close(nil)
					sctx, seg = r.BeginSegment(ctx, "bench")
				}
			}
			seg.Close(nil)
		})
	}
}
