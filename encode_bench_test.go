package xray

import (
	"context"
	"testing"

	"github.com/openxray/xray/sampling"
)

// recycler is an emitter that hands buffers back as the UDP emitter does,
// so encoding is measured without the daemon.
type recycler struct{}

func (recycler) Emit(doc []byte)                { putBuffer(doc) }
func (recycler) Flush(context.Context) error    { return nil }
func (recycler) Shutdown(context.Context) error { return nil }

// BenchmarkEncode10 measures closing, and so encoding and emitting, a
// segment holding 10 SQL subsegments and an annotation: the per-request
// cost that follows the work on the caller's goroutine.
func BenchmarkEncode10(b *testing.B) {
	r, err := New(Config{Emitter: recycler{}, SamplingStrategy: sampling.Always})
	if err != nil {
		b.Fatal(err)
	}
	sql := &SQL{URL: "postgresql://db:5432/app", DatabaseType: "PostgreSQL", SanitizedQuery: "SELECT name FROM users WHERE id = $1"}
	ctx, seg := r.BeginSegment(context.Background(), "svc")
	seg.AddAnnotation("tenant", "acme")
	for range 10 {
		_, sub := BeginSubsegment(ctx, "app@db")
		sub.SetNamespace("remote")
		sub.SetSQL(sql)
		sub.Close(nil)
	}
	seg.st.closed = true
	b.ReportAllocs()
	for b.Loop() {
		buf := r.appendEntity(getBuffer(), seg, false, true)
		putBuffer(buf)
	}
	b.SetBytes(int64(len(r.appendEntity(nil, seg, false, true))))
}

// BenchmarkRequest is a whole sampled request: a segment with one SQL
// subsegment, begun, closed, encoded and handed to the emitter.
func BenchmarkRequest(b *testing.B) {
	r, err := New(Config{Emitter: recycler{}, SamplingStrategy: sampling.Always})
	if err != nil {
		b.Fatal(err)
	}
	sql := &SQL{URL: "postgresql://db:5432/app", DatabaseType: "PostgreSQL", SanitizedQuery: "SELECT name FROM users WHERE id = $1"}
	b.ReportAllocs()
	for b.Loop() {
		ctx, seg := r.BeginSegment(context.Background(), "svc")
		_, sub := BeginSubsegment(ctx, "app@db")
		sub.SetNamespace("remote")
		sub.SetSQL(sql)
		sub.Close(nil)
		seg.Close(nil)
	}
}
