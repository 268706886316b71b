package xraygrpc_test

import (
	"context"
	"fmt"
	"net"

	"github.com/openxray/xray/contrib/xraygrpc"
	"github.com/openxray/xray/xraytest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// A centralized sampling rule with Attributes {"x-tenant": "gold"} applies
// to the calls whose metadata carries it. Here a health service is served
// over loopback with a recorder that keeps what it records in memory.
func ExampleWithSamplingMetadata() {
	rec, sent := xraytest.NewRecorder() // in a program: no WithRecorder
	s := grpc.NewServer(grpc.ChainUnaryInterceptor(xraygrpc.UnaryServerInterceptor(
		xraygrpc.WithSamplingMetadata("x-tenant"), xraygrpc.WithRecorder(rec))))
	healthpb.RegisterHealthServer(s, health.NewServer())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go s.Serve(l)
	defer s.Stop()

	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-tenant", "gold")
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		panic(err)
	}
	s.GracefulStop() // the segment is closed before the call returns; this just tidies up
	fmt.Println(sent.Documents()[0].Name())
	// Output: grpc.health.v1.Health
}
