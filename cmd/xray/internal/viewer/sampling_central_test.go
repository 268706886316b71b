package viewer

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray/sampling"
)

// The SDK's centralized strategy, pointed at xray local's sampling API,
// applies the rules of the local file.
func TestCentralizedStrategyAgainstLocalRules(t *testing.T) {
	rs, err := NewRules([]byte(`{"version": 2, "rules": [
		{"name": "checkout", "host": "*", "http_method": "POST", "url_path": "/checkout/*", "fixed_target": 0, "rate": 1}
	], "default": {"fixed_target": 0, "rate": 0}}`))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rs.Handler())
	defer srv.Close()
	s, err := sampling.NewCentralizedStrategy(sampling.WithDaemonAddress(strings.TrimPrefix(srv.URL, "http://")),
		sampling.WithFallback(sampling.Never), sampling.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	req := sampling.Request{Host: "shop", Method: "POST", URL: "/checkout/42", ServiceName: "storefront"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := s.ShouldTrace(req)
		if d.Rule == "checkout" {
			if !d.Sample {
				t.Errorf("rule checkout (rate 1) did not sample: %+v", d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rules of xray local never applied: %+v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if d := s.ShouldTrace(sampling.Request{Method: "GET", URL: "/"}); d.Sample || d.Rule != "Default" {
		t.Errorf("other requests: %+v, want the Default rule (rate 0)", d)
	}
}
