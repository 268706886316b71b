package xrayredis_test

import (
	"context"
	"testing"

	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xrayredis"
	"github.com/openxray/xray/sampling"
	"github.com/redis/go-redis/v9"
)

// BenchmarkHook is what the hook adds to one command, without the network:
// sampled (a subsegment with its metadata) and with no segment in the
// context.
func BenchmarkHook(b *testing.B) {
	r, err := xray.New(xray.Config{Emitter: xray.DiscardEmitter{}, SamplingStrategy: sampling.Always})
	if err != nil {
		b.Fatal(err)
	}
	h := xrayredis.NewHook(xrayredis.WithName("redis@127.0.0.1:6379"), xrayredis.WithDB(0))
	process := h.ProcessHook(func(context.Context, redis.Cmder) error { return nil })
	cmd := redis.NewStringCmd(context.Background(), "get", "user:42:cart")
	b.Run("sampled", func(b *testing.B) {
		ctx, seg := r.BeginSegment(context.Background(), "svc")
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			process(ctx, cmd)
			if n++; n%100 == 0 {
				b.StopTimer()
				seg.Close(nil)
				ctx, seg = r.BeginSegment(context.Background(), "svc")
				b.StartTimer()
			}
		}
		seg.Close(nil)
	})
	b.Run("no-segment", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			process(ctx, cmd)
		}
	})
}
