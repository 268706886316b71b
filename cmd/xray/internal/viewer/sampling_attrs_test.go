package viewer

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xraygrpc"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xrayhttp"
	"github.com/openxray/xray/xraytest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// X-Ray's own rules, as "aws xray get-sampling-rules" prints them: gold
// tenants are always sampled, on HTTP (a header) and gRPC (metadata); the
// rest never (but for the one request a second a rule without a quota
// borrows).
const attributeRules = `{"SamplingRuleRecords": [
	{"SamplingRule": {"RuleName": "gold-http", "Priority": 1, "FixedRate": 1, "ReservoirSize": 0, "Attributes": {"X-Tenant": "gold"}}},
	{"SamplingRule": {"RuleName": "gold-grpc", "Priority": 2, "FixedRate": 1, "ReservoirSize": 0, "Attributes": {"x-tenant": "gold"}}},
	{"SamplingRule": {"RuleName": "Default", "Priority": 10000, "FixedRate": 0, "ReservoirSize": 0}}
]}`

// centralStrategy is the SDK's centralized strategy against xray local's
// sampling API serving rs, once it has the rules.
func centralStrategy(t *testing.T, rs *Rules) *sampling.CentralizedStrategy {
	t.Helper()
	srv := httptest.NewServer(rs.Handler())
	t.Cleanup(srv.Close)
	s, err := sampling.NewCentralizedStrategy(sampling.WithDaemonAddress(strings.TrimPrefix(srv.URL, "http://")),
		sampling.WithFallback(sampling.Never), sampling.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for s.ShouldTrace(sampling.Request{Attributes: map[string]string{"X-Tenant": "gold"}}).Rule != "gold-http" {
		if time.Now().After(deadline) {
			t.Fatal("the strategy did not get the rules")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

func TestSamplingAttributesEndToEnd(t *testing.T) {
	rs, err := NewRules([]byte(attributeRules))
	if err != nil {
		t.Fatal(err)
	}
	s := centralStrategy(t, rs)
	const n = 20

	t.Run("http", func(t *testing.T) {
		r, e := xraytest.NewRecorder(xray.Config{SamplingStrategy: s})
		xray.SetDefault(r) // xrayhttp records through the default recorder
		srv := httptest.NewServer(xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("shop"),
			http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), xrayhttp.WithSamplingHeaders("X-Tenant")))
		defer srv.Close()
		get := func(tenant string) {
			req, _ := http.NewRequest("GET", srv.URL+"/cart", nil)
			if tenant != "" {
				req.Header.Set("X-Tenant", tenant)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		for range n {
			get("gold")
		}
		if got := len(e.Documents()); got != n {
			t.Errorf("%d of %d gold requests sampled", got, n)
		}
		e.Reset()
		for range n {
			get("silver")
			get("")
		}
		if got := len(e.Documents()); got > 2 {
			t.Errorf("%d of %d other requests sampled (the default rule samples none but what it borrows)", got, 2*n)
		}
	})

	t.Run("grpc", func(t *testing.T) {
		r, e := xraytest.NewRecorder(xray.Config{SamplingStrategy: s})
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		gs := grpc.NewServer(grpc.ChainUnaryInterceptor(xraygrpc.UnaryServerInterceptor(xraygrpc.WithRecorder(r), xraygrpc.WithSamplingMetadata("X-Tenant"))))
		healthpb.RegisterHealthServer(gs, health.NewServer())
		go gs.Serve(l)
		defer gs.Stop()
		cc, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		client := healthpb.NewHealthClient(cc)
		call := func(tenant string) {
			ctx := context.Background()
			if tenant != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "x-tenant", tenant)
			}
			if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
				t.Fatal(err)
			}
		}
		for range n {
			call("gold")
		}
		if got := len(e.Documents()); got != n {
			t.Errorf("%d of %d gold calls sampled", got, n)
		}
		e.Reset()
		for range n {
			call("")
		}
		if got := len(e.Documents()); got > 2 {
			t.Errorf("%d of %d other calls sampled", got, n)
		}
	})
}

func TestCentralRulesChecked(t *testing.T) {
	for _, bad := range []string{
		`{"SamplingRuleRecords": [{"SamplingRule": {"RuleName": "a", "FixedRate": 1}}]}`,
		`{"SamplingRuleRecords": [{"SamplingRule": {"RuleName": "Default", "FixedRate": 2}}]}`,
		`{"SamplingRuleRecords": [{"SamplingRule": {"FixedRate": 1}}, {"SamplingRule": {"RuleName": "Default"}}]}`,
	} {
		if _, err := NewRules([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}
