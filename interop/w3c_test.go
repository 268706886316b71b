package interop

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xraygrpc"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xrayhttp"
	"github.com/openxray/xray/xraytest"
)

// otelSDK is an OpenTelemetry SDK that keeps its ended spans in memory.
func otelSDK(t *testing.T, sampler sdktrace.Sampler) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr), sdktrace.WithSampler(sampler))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp, sr
}

var w3c = propagation.TraceContext{}

// remoteParent is a context whose span came from upstream with a
// tracestate, sampled or not.
func remoteParent(sampled bool) context.Context {
	ts, _ := trace.ParseTraceState("vendor=v1")
	flags := trace.TraceFlags(0)
	if sampled {
		flags = trace.FlagsSampled
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x67, 0x4d, 0x1c, 0x2a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		SpanID:     trace.SpanID{9, 9, 9, 9, 9, 9, 9, 9},
		TraceFlags: flags, TraceState: ts, Remote: true,
	})
	return trace.ContextWithRemoteSpanContext(context.Background(), sc)
}

// clientAndServer picks the OpenTelemetry side's client and server spans.
func clientAndServer(spans []sdktrace.ReadOnlySpan) (client, server sdktrace.ReadOnlySpan) {
	for _, s := range spans {
		switch s.SpanKind() {
		case trace.SpanKindClient:
			client = s
		case trace.SpanKindServer:
			server = s
		}
	}
	return client, server
}

func xrayRecorder(t *testing.T) (*xray.Recorder, *xraytest.Daemon) {
	d := xraytest.NewDaemon(t)
	// Never: the decision comes from the caller's sampled flag.
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Never})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r, d
}

// OpenTelemetry (otelhttp) → OpenXRay (xrayhttp) → OpenTelemetry
// (otelhttp): one trace, each hop's parent the previous hop's client span,
// the sampled flag and tracestate carried through.
func TestW3CAcrossHTTP(t *testing.T) {
	tp, sr := otelSDK(t, sdktrace.ParentBased(sdktrace.AlwaysSample()))
	rec, d := xrayRecorder(t)

	billing := httptest.NewServer(otelhttp.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), "billing",
		otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(w3c)))
	defer billing.Close()
	xclient := xrayhttp.Client(nil, xrayhttp.WithRecorder(rec))
	orders := httptest.NewServer(xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("orders"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", billing.URL+"/charge", nil)
		if resp, err := xclient.Do(req); err == nil {
			resp.Body.Close()
		}
	}), xrayhttp.WithRecorder(rec)))
	defer orders.Close()
	oclient := &http.Client{Transport: otelhttp.NewTransport(nil, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(w3c))}

	for _, sampled := range []bool{true, false} {
		sr.Reset()
		d.Reset()
		req, _ := http.NewRequestWithContext(remoteParent(sampled), "GET", orders.URL+"/order", nil)
		resp, err := oclient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		flush(t, rec)
		ended := sr.Ended()
		if !sampled {
			if docs := d.Settle(t, 2*time.Second); len(docs) != 0 {
				t.Errorf("unsampled upstream: OpenXRay recorded %d documents", len(docs))
			}
			if len(ended) != 0 {
				t.Errorf("unsampled upstream: billing recorded %d spans", len(ended))
			}
			continue
		}
		client, server := clientAndServer(ended)
		if client == nil || server == nil {
			t.Fatalf("OpenTelemetry spans: %v", ended)
		}
		otelTrace := client.SpanContext().TraceID().String()
		doc := d.WaitTrace(t, "1-"+otelTrace[:8]+"-"+otelTrace[8:], 5*time.Second)
		if doc.Name() != "orders" || doc.String("parent_id") != client.SpanContext().SpanID().String() {
			t.Errorf("orders segment: parent %s, want the OpenTelemetry client span %s", doc.String("parent_id"), client.SpanContext().SpanID())
		}
		call := doc.Subsegments()[0]
		if server.SpanContext().TraceID().String() != otelTrace || server.Parent().SpanID().String() != call.ID() {
			t.Errorf("billing span: trace %s parent %s, want %s and the OpenXRay client subsegment %s",
				server.SpanContext().TraceID(), server.Parent().SpanID(), otelTrace, call.ID())
		}
		if got := server.SpanContext().TraceState().String(); got != "vendor=v1" {
			t.Errorf("tracestate at billing: %q, want vendor=v1", got)
		}
	}
}

type checker struct {
	*health.Server
	call func(ctx context.Context) error
}

func (c checker) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if c.call != nil {
		if err := c.call(ctx); err != nil {
			return nil, err
		}
	}
	return c.Server.Check(ctx, req)
}

func serveGRPC(t *testing.T, srv *grpc.Server, c checker) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	healthpb.RegisterHealthServer(srv, c)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return l.Addr().String()
}

// The same through gRPC metadata: otelgrpc → xraygrpc → otelgrpc.
func TestW3CAcrossGRPC(t *testing.T) {
	tp, sr := otelSDK(t, sdktrace.ParentBased(sdktrace.AlwaysSample()))
	rec, d := xrayRecorder(t)

	billingAddr := serveGRPC(t, grpc.NewServer(grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(w3c)))),
		checker{Server: health.NewServer()})
	toBilling, err := grpc.NewClient(billingAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(xraygrpc.UnaryClientInterceptor(xraygrpc.WithRecorder(rec))))
	if err != nil {
		t.Fatal(err)
	}
	defer toBilling.Close()
	ordersAddr := serveGRPC(t, grpc.NewServer(grpc.ChainUnaryInterceptor(xraygrpc.UnaryServerInterceptor(xraygrpc.WithRecorder(rec), xraygrpc.WithSegmentName("orders")))),
		checker{Server: health.NewServer(), call: func(ctx context.Context) error {
			_, err := healthpb.NewHealthClient(toBilling).Check(ctx, &healthpb.HealthCheckRequest{})
			return err
		}})
	toOrders, err := grpc.NewClient(ordersAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(w3c))))
	if err != nil {
		t.Fatal(err)
	}
	defer toOrders.Close()

	if _, err := healthpb.NewHealthClient(toOrders).Check(remoteParent(true), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	flush(t, rec)
	client, server := clientAndServer(sr.Ended())
	if client == nil || server == nil {
		t.Fatalf("OpenTelemetry spans: %v", sr.Ended())
	}
	otelTrace := client.SpanContext().TraceID().String()
	doc := d.WaitTrace(t, "1-"+otelTrace[:8]+"-"+otelTrace[8:], 5*time.Second)
	if doc.Name() != "orders" || doc.String("parent_id") != client.SpanContext().SpanID().String() {
		t.Errorf("orders segment %s: parent %s, want the otelgrpc client span %s", doc.Name(), doc.String("parent_id"), client.SpanContext().SpanID())
	}
	call := doc.Subsegments()[0]
	if server.Parent().TraceID().String() != otelTrace || server.Parent().SpanID().String() != call.ID() {
		t.Errorf("billing span's parent %s/%s, want %s/%s", server.Parent().TraceID(), server.Parent().SpanID(), otelTrace, call.ID())
	}
	if got := server.SpanContext().TraceState().String(); got != "vendor=v1" {
		t.Errorf("tracestate at billing: %q", got)
	}
}
