package xraygrpc_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xraygrpc"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
)

// healthServer is gRPC's health service, with services named for the
// status codes the test needs.
type healthServer struct {
	*health.Server
}

func (h healthServer) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	switch req.Service {
	case "throttled":
		return nil, status.Error(codes.ResourceExhausted, "slow down")
	case "broken":
		return nil, status.Error(codes.Internal, "boom")
	}
	if xray.GetSegment(ctx) == nil {
		return nil, status.Error(codes.FailedPrecondition, "no segment in the handler's context")
	}
	return h.Server.Check(ctx, req)
}

func (h healthServer) Watch(req *healthpb.HealthCheckRequest, ss healthpb.Health_WatchServer) error {
	if xray.GetSegment(ss.Context()) == nil {
		return status.Error(codes.FailedPrecondition, "no segment in the stream's context")
	}
	return h.Server.Watch(req, ss)
}

func serve(t testing.TB, r *xray.Recorder) healthpb.HealthClient {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(xraygrpc.UnaryServerInterceptor(xraygrpc.WithRecorder(r), xraygrpc.WithSegmentName("health-server"))),
		grpc.ChainStreamInterceptor(xraygrpc.StreamServerInterceptor(xraygrpc.WithRecorder(r), xraygrpc.WithSegmentName("health-server"))))
	hs := healthServer{health.NewServer()}
	hs.SetServingStatus("orders", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(xraygrpc.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(xraygrpc.StreamClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return healthpb.NewHealthClient(conn)
}

func flags(d xraytest.Document) [3]bool {
	return [3]bool{d.Bool("error"), d.Bool("throttle"), d.Bool("fault")}
}

func status_(d xraytest.Document) any {
	resp, _ := d.Object("http")["response"].(map[string]any)
	return resp["status"]
}

func TestUnary(t *testing.T) {
	r, d := xraytest.NewDaemonRecorder(t)
	client := serve(t, r)
	cases := []struct {
		service string
		code    codes.Code
		flags   [3]bool // error, throttle, fault
		status  float64
	}{
		{"orders", codes.OK, [3]bool{}, 200},
		{"unknown", codes.NotFound, [3]bool{true, false, false}, 404},
		{"throttled", codes.ResourceExhausted, [3]bool{true, true, false}, 429},
		{"broken", codes.Internal, [3]bool{false, false, true}, 500},
	}
	for _, c := range cases {
		ctx, seg := r.BeginSegment(context.Background(), "caller")
		_, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: c.service})
		seg.Close(nil)
		if status.Code(err) != c.code {
			t.Fatalf("%s: %v, want %s", c.service, err, c.code)
		}
		r.Flush(context.Background())
		docs := waitTrace(t, d, seg.TraceID(), 2)
		caller, server := docs["caller"], docs["health-server"]
		subs := caller.Subsegments()
		if len(subs) != 1 {
			t.Fatalf("%s: caller has %d subsegments", c.service, len(subs))
		}
		call := subs[0]
		if call.Name() != "127.0.0.1" || call.String("namespace") != "remote" {
			t.Errorf("%s: client subsegment %q namespace %q", c.service, call.Name(), call.String("namespace"))
		}
		req, _ := call.Object("http")["request"].(map[string]any)
		if url, _ := req["url"].(string); len(url) < 8 || url[:7] != "grpc://" || url[len(url)-len("/grpc.health.v1.Health/Check"):] != "/grpc.health.v1.Health/Check" {
			t.Errorf("%s: client url %v", c.service, req["url"])
		}
		if server.String("parent_id") != call.ID() {
			t.Errorf("%s: server segment's parent %q, want the client subsegment %q", c.service, server.String("parent_id"), call.ID())
		}
		for _, doc := range []xraytest.Document{call, server} {
			if flags(doc) != c.flags || status_(doc) != c.status {
				t.Errorf("%s: %s flags %v status %v, want %v %v", c.service, doc.Name(), flags(doc), status_(doc), c.flags, c.status)
			}
		}
		d.Reset()
	}
}

// waitTrace waits for n documents of a trace and returns them by name.
func waitTrace(t *testing.T, d *xraytest.Daemon, traceID string, n int) map[string]xraytest.Document {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := map[string]xraytest.Document{}
		for _, doc := range d.Documents() {
			if doc.String("trace_id") == traceID {
				if err := xraytest.Validate(doc); err != nil {
					t.Error(err)
				}
				out[doc.Name()] = doc
			}
		}
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s: %d documents, want %d", traceID, len(out), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServerStream(t *testing.T) {
	r, d := xraytest.NewDaemonRecorder(t)
	client := serve(t, r)
	ctx, seg := r.BeginSegment(context.Background(), "caller")
	sctx, cancel := context.WithCancel(ctx)
	stream, err := client.Watch(sctx, &healthpb.HealthCheckRequest{Service: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := stream.Recv(); err != nil || m.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("watch: %v %v", m, err)
	}
	cancel() // the client ends the stream
	if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("after cancel: %v", err)
	}
	seg.Close(nil)
	r.Flush(context.Background())
	docs := waitTrace(t, d, seg.TraceID(), 2)
	call := docs["caller"].Subsegments()
	if len(call) != 1 || flags(call[0]) != [3]bool{true, false, false} || status_(call[0]) != float64(499) {
		t.Errorf("client stream subsegment: %v", call)
	}
	if server := docs["health-server"]; server.String("parent_id") != call[0].ID() || !server.Bool("error") {
		t.Errorf("server stream segment: %v", server)
	}
}

// Without a segment the client sends no header and the server samples by
// its rules; from an unsampled segment the server records nothing.
func TestUntracedAndUnsampled(t *testing.T) {
	d := xraytest.NewDaemon(t)
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Never})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	client := serve(t, r)
	if _, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "orders"}); err != nil {
		t.Fatal(err)
	}
	ctx, seg := r.BeginSegment(context.Background(), "unsampled")
	if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "orders"}); err != nil {
		t.Fatal(err)
	}
	seg.Close(nil)
	r.Flush(context.Background())
	if n := len(d.Settle(t, 5*time.Second)); n != 0 {
		t.Errorf("%d datagrams with sampling off", n)
	}
}
