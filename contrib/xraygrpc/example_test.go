package xraygrpc_test

import (
	"github.com/openxray/xray/contrib/xraygrpc"
	"google.golang.org/grpc"
)

// A centralized sampling rule with Attributes {"x-tenant": "gold"} applies
// to the calls whose metadata carries it.
func ExampleWithSamplingMetadata() {
	s := grpc.NewServer(grpc.ChainUnaryInterceptor(xraygrpc.UnaryServerInterceptor(xraygrpc.WithSamplingMetadata("x-tenant"))))
	_ = s
}
