package xraygrpc_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xraygrpc"
	"github.com/openxray/xray/sampling"
)

// BenchmarkUnary measures a health check over loopback: without
// interceptors, and with them on both sides, sampled (documents encoded
// and discarded) and unsampled.
func BenchmarkUnary(b *testing.B) {
	run := func(b *testing.B, traced bool, strategy sampling.Strategy) {
		r, err := xray.New(xray.Config{Emitter: xray.DiscardEmitter{}, SamplingStrategy: strategy})
		if err != nil {
			b.Fatal(err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		var sopts []grpc.ServerOption
		copts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
		if traced {
			sopts = append(sopts, grpc.ChainUnaryInterceptor(xraygrpc.UnaryServerInterceptor(xraygrpc.WithRecorder(r))))
			copts = append(copts, grpc.WithChainUnaryInterceptor(xraygrpc.UnaryClientInterceptor()))
		}
		srv := grpc.NewServer(sopts...)
		hs := health.NewServer()
		hs.SetServingStatus("orders", healthpb.HealthCheckResponse_SERVING)
		healthpb.RegisterHealthServer(srv, hs)
		go srv.Serve(l)
		defer srv.Stop()
		conn, err := grpc.NewClient(l.Addr().String(), copts...)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		client := healthpb.NewHealthClient(conn)
		req := &healthpb.HealthCheckRequest{Service: "orders"}
		b.ReportAllocs()
		for b.Loop() {
			ctx, seg := r.BeginSegment(context.Background(), "caller")
			if _, err := client.Check(ctx, req); err != nil {
				b.Fatal(err)
			}
			seg.Close(nil)
		}
	}
	b.Run("plain", func(b *testing.B) { run(b, false, sampling.Always) })
	b.Run("unsampled", func(b *testing.B) { run(b, true, sampling.Never) })
	b.Run("sampled", func(b *testing.B) { run(b, true, sampling.Always) })
}
