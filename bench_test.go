package xray_test

import (
	"context"
	"net"
	"testing"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
)

// discard is an emitter that drops documents, so benchmarks measure the
// recorder alone.
type discard struct{}

func (discard) Emit([]byte)                    {}
func (discard) Flush(context.Context) error    { return nil }
func (discard) Shutdown(context.Context) error { return nil }

func benchRecorder(b *testing.B, s sampling.Strategy) *xray.Recorder {
	r, err := xray.New(xray.Config{Emitter: discard{}, SamplingStrategy: s})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func BenchmarkSegmentUnsampled(b *testing.B) {
	r := benchRecorder(b, sampling.Never)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sctx, seg := r.BeginSegment(ctx, "svc")
		_, sub := xray.BeginSubsegment(sctx, "query")
		sub.Close(nil)
		seg.Close(nil)
	}
}

func BenchmarkSegmentSampled(b *testing.B) {
	r := benchRecorder(b, sampling.Always)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, seg := r.BeginSegment(ctx, "svc")
		seg.Close(nil)
	}
}

// benchSubsegments runs fn b.N times inside segments of 1,000 subsegments,
// with streaming off: what is timed is opening and closing on the caller's
// goroutine. Segments are closed (and encoded) outside the timer.
func benchSubsegments(b *testing.B, fn func(ctx context.Context)) {
	r, err := xray.New(xray.Config{Emitter: discard{}, SamplingStrategy: sampling.Always, StreamingThreshold: -1})
	if err != nil {
		b.Fatal(err)
	}
	ctx, seg := r.BeginSegment(context.Background(), "svc")
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		fn(ctx)
		if n++; n%1000 == 0 {
			b.StopTimer()
			seg.Close(nil)
			ctx, seg = r.BeginSegment(context.Background(), "svc")
			b.StartTimer()
		}
	}
	seg.Close(nil)
}

func BenchmarkSubsegment(b *testing.B) {
	benchSubsegments(b, func(ctx context.Context) {
		_, sub := xray.BeginSubsegment(ctx, "query")
		sub.Close(nil)
	})
}

func BenchmarkSubsegmentSQL(b *testing.B) {
	sql := &xray.SQL{URL: "postgresql://db:5432/app", DatabaseType: "PostgreSQL", SanitizedQuery: "SELECT name FROM users WHERE id = $1"}
	benchSubsegments(b, func(ctx context.Context) {
		_, sub := xray.BeginSubsegment(ctx, "app@db")
		sub.SetNamespace("remote")
		sub.SetSQL(sql)
		sub.Close(nil)
	})
}

func BenchmarkAddAnnotation(b *testing.B) {
	r := benchRecorder(b, sampling.Always)
	_, seg := r.BeginSegment(context.Background(), "svc")
	defer seg.Close(nil)
	b.ReportAllocs()
	for b.Loop() {
		seg.AddAnnotation("user_id", "u-12345")
	}
}

// BenchmarkEmitterThroughput sends documents through the UDP emitter to a
// loopback socket with an 8 MB buffer, read by a goroutine that only
// counts; Flush inside the loop charges the sender's work to the
// benchmark. "default" paces for the AWS daemon's 208 KiB buffer (the
// default), "8MB" for this receiver's (SetPacing).
func BenchmarkEmitterThroughput(b *testing.B) {
	for _, pacing := range []string{"default", "8MB"} {
		b.Run(pacing, func(b *testing.B) {
			conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			conn.SetReadBuffer(8 << 20)
			go func() {
				buf := make([]byte, 1<<16)
				for {
					if _, err := conn.Read(buf); err != nil {
						return
					}
				}
			}()
			defer conn.Close()
			e := xray.NewUDPEmitter(conn.LocalAddr().String(), nil)
			if pacing == "8MB" {
				e.SetPacing(1<<30, 4<<20)
			}
			defer e.Close(context.Background())
			doc := []byte(`{"name":"svc","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1478293361.271,"end_time":1478293361.449}`)
			docs := make([][]byte, 256)
			for i := range docs {
				docs[i] = append([]byte(nil), doc...)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(doc) + len(xray.DaemonHeader)))
			n := 0
			for b.Loop() {
				// The emitter owns a document after Emit; each is emitted
				// again only after a Flush has sent it.
				e.Emit(docs[n%len(docs)])
				if n++; n%len(docs) == 0 {
					e.Flush(context.Background())
				}
			}
			e.Flush(context.Background())
			b.ReportMetric(float64(e.Dropped())/float64(b.N), "dropped/op")
		})
	}
}
