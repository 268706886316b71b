package sampling

import (
	"strings"
	"testing"
	"time"
)

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, text string
		want          bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"", "", true},
		{"", "a", false},
		{"/api/*", "/api/users/1", true},
		{"/api/*", "/apx/users", false},
		{"/api/?", "/api/1", true},
		{"/api/?", "/api/12", false},
		{"GET", "get", true},
		{"*.example.com", "www.EXAMPLE.com", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"*a", "bbba", true},
		{"a**", "a", true},
		{"?", "", false},
	}
	for _, tt := range tests {
		if got := WildcardMatch(tt.pattern, tt.text); got != tt.want {
			t.Errorf("WildcardMatch(%q, %q) = %v, want %v", tt.pattern, tt.text, got, tt.want)
		}
	}
}

func TestLocalRules(t *testing.T) {
	s, err := NewLocalizedStrategyFromJSONBytes([]byte(`{
	  "version": 2,
	  "rules": [
	    {"name": "health", "description": "no health checks", "host": "*", "http_method": "GET", "url_path": "/health", "fixed_target": 0, "rate": 0},
	    {"description": "all of api", "host": "api.*", "http_method": "*", "url_path": "/v?/*", "fixed_target": 0, "rate": 1}
	  ],
	  "default": {"fixed_target": 2, "rate": 0}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if d := s.ShouldTrace(Request{Host: "x", Method: "GET", URL: "/health"}); d.Sample || d.Rule != "health" {
		t.Errorf("health: %+v", d)
	}
	for range 10 {
		if d := s.ShouldTrace(Request{Host: "api.example.com", Method: "POST", URL: "/v1/users"}); !d.Sample {
			t.Fatalf("api: %+v", d)
		}
	}
	// The default rule takes two per second and nothing more (rate 0).
	now := time.Unix(1_700_000_000, 0)
	var n int
	for range 10 {
		if s.def.decide(now).Sample {
			n++
		}
	}
	if n != 2 {
		t.Errorf("default reservoir sampled %d in one second, want 2", n)
	}
	if !s.def.decide(now.Add(time.Second)).Sample {
		t.Error("reservoir did not refill in the next second")
	}
	if d := s.def.decide(now); d.Rule != "Default" {
		t.Errorf("default rule name = %q", d.Rule)
	}
}

func TestLocalRulesVersion1(t *testing.T) {
	s, err := NewLocalizedStrategyFromJSONBytes([]byte(`{"version": 1,
	  "rules": [{"description": "d", "service_name": "svc*", "http_method": "*", "url_path": "*", "fixed_target": 0, "rate": 1}],
	  "default": {"fixed_target": 0, "rate": 0}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !s.ShouldTrace(Request{Host: "svc1"}).Sample || s.ShouldTrace(Request{Host: "other"}).Sample {
		t.Error("version 1 service_name must match the host")
	}
}

func TestDefaultStrategy(t *testing.T) {
	s := NewLocalizedStrategy()
	if !s.ShouldTrace(Request{}).Sample {
		t.Fatal("first request of a second must be sampled")
	}
	if r := s.Rules(); len(r) != 1 || r[0].Name != "Default" || r[0].FixedTarget != 1 || r[0].Rate != 0.05 {
		t.Fatalf("default rules = %+v", r)
	}
}

func TestLocalRulesErrors(t *testing.T) {
	bad := map[string]string{
		"syntax":         `{`,
		"no version":     `{"default": {"fixed_target": 1, "rate": 0.1}}`,
		"version 3":      `{"version": 3, "default": {"fixed_target": 1, "rate": 0.1}}`,
		"no default":     `{"version": 2}`,
		"rate > 1":       `{"version": 2, "default": {"fixed_target": 1, "rate": 1.5}}`,
		"negative":       `{"version": 2, "default": {"fixed_target": -1, "rate": 0.1}}`,
		"default host":   `{"version": 2, "default": {"host": "*", "fixed_target": 1, "rate": 0.1}}`,
		"missing path":   `{"version": 2, "rules": [{"host": "*", "http_method": "*", "fixed_target": 1, "rate": 0.1}], "default": {"fixed_target": 1, "rate": 0.1}}`,
		"v1 host":        `{"version": 1, "rules": [{"host": "*", "http_method": "*", "url_path": "*", "fixed_target": 1, "rate": 0.1}], "default": {"fixed_target": 1, "rate": 0.1}}`,
		"unknown field":  `{"version": 2, "default": {"fixed_target": 1, "rate": 0.1, "ratee": 1}}`,
		"null rule":      `{"version": 2, "rules": [null], "default": {"fixed_target": 1, "rate": 0.1}}`,
		"trailing data":  `{"version": 2, "default": {"fixed_target": 1, "rate": 0.1}} {}`,
		"wrong type":     `{"version": "2", "default": {"fixed_target": 1, "rate": 0.1}}`,
		"missing target": `{"version": 2, "default": {"rate": 0.1}}`,
	}
	for name, doc := range bad {
		if _, err := NewLocalizedStrategyFromJSONBytes([]byte(doc)); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.HasPrefix(err.Error(), "sampling: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
	if _, err := NewLocalizedStrategyFromFilePath("testdata/does-not-exist.json"); err == nil {
		t.Error("missing file: no error")
	}
}

func FuzzRules(f *testing.F) {
	f.Add([]byte(DefaultRulesJSON))
	f.Add([]byte(`{"version": 1, "rules": [{"description": "d", "service_name": "*", "http_method": "*", "url_path": "*", "fixed_target": 0, "rate": 1}], "default": {"fixed_target": 0, "rate": 0}}`))
	f.Add([]byte(`{"version": 2, "rules": [null]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := NewLocalizedStrategyFromJSONBytes(b)
		if err != nil {
			return
		}
		for _, r := range s.Rules() {
			if r.Rate < 0 || r.Rate > 1 || r.FixedTarget < 0 {
				t.Fatalf("invalid rule accepted: %+v", r)
			}
		}
		s.ShouldTrace(Request{Host: "h", Method: "GET", URL: "/"})
	})
}

func BenchmarkShouldTrace(b *testing.B) {
	s := NewLocalizedStrategy()
	r := Request{Host: "example.com", Method: "GET", URL: "/api/users"}
	b.ReportAllocs()
	for b.Loop() {
		s.ShouldTrace(r)
	}
}
