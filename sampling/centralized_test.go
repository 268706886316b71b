package sampling

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDaemon implements the daemon's two sampling endpoints with the
// documented JSON.
type fakeDaemon struct {
	mu        sync.Mutex
	pages     [][]map[string]any // rule records, page by page
	rulesHits int
	stats     []SamplingStatisticsDocument
	target    func(rule string) map[string]any // the target document for a rule, or nil
	lastMod   float64
	garbage   bool
}

func rule(name string, priority int, reservoir int64, rate float64, fields map[string]any) map[string]any {
	r := map[string]any{
		"RuleName": name, "RuleARN": "arn:aws:xray:us-east-1:123456789012:sampling-rule/" + name,
		"ResourceARN": "*", "Priority": priority, "FixedRate": rate, "ReservoirSize": reservoir,
		"ServiceName": "*", "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*",
		"Version": 1, "Attributes": map[string]string{},
	}
	for k, v := range fields {
		r[k] = v
	}
	return map[string]any{"SamplingRule": r, "CreatedAt": 1.7e9, "ModifiedAt": 1.7e9}
}

func (d *fakeDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.garbage {
		w.Write([]byte("<html>not the daemon</html>"))
		return
	}
	switch r.URL.Path {
	case "/GetSamplingRules":
		var req struct{ NextToken string }
		json.NewDecoder(r.Body).Decode(&req)
		d.rulesHits++
		page := 0
		fmt.Sscan(req.NextToken, &page)
		resp := map[string]any{"SamplingRuleRecords": []any{}}
		if page < len(d.pages) {
			resp["SamplingRuleRecords"] = d.pages[page]
		}
		if page+1 < len(d.pages) {
			resp["NextToken"] = fmt.Sprint(page + 1)
		}
		json.NewEncoder(w).Encode(resp)
	case "/SamplingTargets":
		var req GetSamplingTargetsInput
		json.NewDecoder(r.Body).Decode(&req)
		d.stats = append(d.stats, req.SamplingStatisticsDocuments...)
		targets := []any{}
		for _, s := range req.SamplingStatisticsDocuments {
			if d.target != nil {
				if t := d.target(s.RuleName); t != nil {
					targets = append(targets, t)
				}
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"SamplingTargetDocuments": targets,
			"LastRuleModification": d.lastMod, "UnprocessedStatistics": []any{}})
	default:
		http.NotFound(w, r)
	}
}

func (d *fakeDaemon) set(fn func(d *fakeDaemon)) {
	d.mu.Lock()
	fn(d)
	d.mu.Unlock()
}

func (d *fakeDaemon) get(fn func(d *fakeDaemon)) { d.set(fn) }

func newStrategy(t *testing.T, d http.Handler, opts ...CentralizedOption) (*CentralizedStrategy, *syncWriter) {
	t.Helper()
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	logs := &syncWriter{}
	opts = append([]CentralizedOption{WithDaemonAddress(strings.TrimPrefix(srv.URL, "http://")),
		WithLogger(slog.New(slog.NewTextHandler(logs, nil)))}, opts...)
	s, err := NewCentralizedStrategy(opts...)
	if err != nil {
		t.Fatal(err)
	}
	s.rulesEvery, s.targetsEvery = time.Hour, 20*time.Millisecond
	t.Cleanup(func() { s.Close() })
	return s, logs
}

// syncWriter is a log destination the test reads while loggers write.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestCentralizedRules(t *testing.T) {
	d := &fakeDaemon{pages: [][]map[string]any{
		{
			rule("b-api", 10, 0, 1, map[string]any{"URLPath": "/api/*"}),
			rule("old-format", 1, 0, 1, map[string]any{"Version": 2}),
			rule("one-resource", 1, 0, 1, map[string]any{"ResourceARN": "arn:aws:lambda:us-east-1:1:function:f"}),
		},
		{
			rule("a-health", 10, 0, 0, map[string]any{"URLPath": "/api/health", "HTTPMethod": "GET"}),
			rule("gold", 1, 0, 1, map[string]any{"Attributes": map[string]string{"tenant": "gold-*"}}),
			rule("on-ec2", 2, 0, 1, map[string]any{"ServiceType": "AWS::EC2::Instance", "ServiceName": "orders"}),
			rule("Default", 10000, 0, 0, nil),
		},
	}}
	s, _ := newStrategy(t, d)
	s.ShouldTrace(Request{}) // starts the pollers
	waitFor(t, "rules", func() bool { return s.snapshot.Load() != nil })

	for _, c := range []struct {
		req    Request
		sample bool
		rule   string
	}{
		{Request{Method: "GET", URL: "/api/health"}, false, "a-health"}, // same priority: by name
		{Request{Method: "POST", URL: "/api/health"}, true, "b-api"},
		{Request{Method: "GET", URL: "/api/orders"}, true, "b-api"},
		{Request{URL: "/other"}, false, "Default"},
		{Request{URL: "/other", Attributes: map[string]string{"tenant": "gold-7"}}, true, "gold"},
		{Request{URL: "/other", Attributes: map[string]string{"tenant": "silver"}}, false, "Default"},
		{Request{ServiceName: "orders", ServiceType: "AWS::EC2::Instance"}, true, "on-ec2"},
		{Request{ServiceName: "orders", ServiceType: "AWS::ECS::Container"}, false, "Default"},
	} {
		if got := s.ShouldTrace(c.req); got.Sample != c.sample || got.Rule != c.rule {
			t.Errorf("%+v: %+v, want sample %v by %s", c.req, got, c.sample, c.rule)
		}
	}
	d.get(func(d *fakeDaemon) {
		if d.rulesHits != 2 {
			t.Errorf("%d GetSamplingRules calls for 2 pages", d.rulesHits)
		}
	})
}

func TestCentralizedReservoir(t *testing.T) {
	d := &fakeDaemon{pages: [][]map[string]any{{rule("Default", 10000, 50, 0, nil)}}}
	var quota struct {
		sync.Mutex
		n   int64
		ttl float64
	}
	d.target = func(name string) map[string]any {
		quota.Lock()
		defer quota.Unlock()
		if quota.n == 0 {
			return nil
		}
		return map[string]any{"RuleName": name, "FixedRate": 0.0, "ReservoirQuota": quota.n, "ReservoirQuotaTTL": quota.ttl, "Interval": 10}
	}
	s, _ := newStrategy(t, d)
	s.ShouldTrace(Request{})
	waitFor(t, "rules", func() bool { return s.snapshot.Load() != nil })
	r := s.snapshot.Load().rules[0]
	base := time.Now().Truncate(time.Second).Add(time.Hour) // a second of our own

	count := func(at time.Time, n int) (sampled int) {
		for range n {
			if r.decide(at).Sample {
				sampled++
			}
		}
		return sampled
	}
	// No quota yet: one borrowed request per second, then the rate (0).
	if got := count(base, 10); got != 1 {
		t.Errorf("before a quota: %d sampled in a second, want 1 (borrowed)", got)
	}
	// A report can fall in the middle of the ten decisions: the counts
	// are summed over every report.
	waitFor(t, "statistics", func() bool {
		var requests, sampled, borrowed int64
		d.get(func(d *fakeDaemon) {
			for _, st := range d.stats {
				requests += st.RequestCount
				sampled += st.SampledCount
				borrowed += st.BorrowCount
				if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(st.ClientID) || st.RuleName != "Default" || st.Timestamp < 1.7e9 {
					t.Errorf("statistics %+v", st)
				}
			}
		})
		return requests >= 10 && sampled == 1 && borrowed == 1
	})

	// A quota of 3 a second, valid for an hour past base.
	quota.Lock()
	quota.n, quota.ttl = 3, float64(base.Add(time.Hour).Unix())
	quota.Unlock()
	waitFor(t, "quota", func() bool { return r.quota.Load() == 3 })
	if got := count(base.Add(time.Second), 10); got != 3 {
		t.Errorf("quota 3: %d sampled in a second", got)
	}
	if got := count(base.Add(2*time.Second), 10); got != 3 {
		t.Errorf("quota 3, next second: %d sampled", got)
	}
	// Past the quota's TTL: borrowing again.
	if got := count(base.Add(2*time.Hour), 10); got != 1 {
		t.Errorf("quota expired: %d sampled in a second, want 1", got)
	}
}

func TestCentralizedRuleChange(t *testing.T) {
	d := &fakeDaemon{pages: [][]map[string]any{{rule("Default", 10000, 0, 0, nil)}}}
	s, _ := newStrategy(t, d)
	s.ShouldTrace(Request{})
	waitFor(t, "rules", func() bool { return s.snapshot.Load() != nil })
	if got := s.ShouldTrace(Request{URL: "/new"}); got.Sample {
		t.Fatalf("before the change: %+v", got)
	}
	// A rule is added and the targets say rules changed after the fetch.
	d.set(func(d *fakeDaemon) {
		d.pages = [][]map[string]any{{rule("new", 1, 0, 1, map[string]any{"URLPath": "/new"}), rule("Default", 10000, 0, 0, nil)}}
		d.lastMod = float64(time.Now().Add(time.Minute).Unix())
	})
	waitFor(t, "the new rule", func() bool { return s.ShouldTrace(Request{URL: "/new"}).Rule == "new" })
}

func TestCentralizedStale(t *testing.T) {
	d := &fakeDaemon{pages: [][]map[string]any{{rule("Default", 10000, 0, 0, nil)}}}
	s, _ := newStrategy(t, d, WithFallback(Always))
	s.ShouldTrace(Request{})
	waitFor(t, "rules", func() bool { return s.snapshot.Load() != nil })
	if s.ShouldTrace(Request{}).Sample {
		t.Fatal("fresh rules: the Default rule (rate 0) decides")
	}
	m := s.snapshot.Load()
	s.snapshot.Store(&manifest{rules: m.rules, fetched: time.Now().Add(-RulesTTL - time.Minute)})
	if !s.ShouldTrace(Request{}).Sample {
		t.Error("rules an hour old: the fallback (Always) must decide")
	}
}

func TestCentralizedDaemonDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logs := &syncWriter{}
	s, err := NewCentralizedStrategy(WithDaemonAddress(addr), WithFallback(Always),
		WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	s.rulesEvery = 5 * time.Millisecond
	defer s.Close()
	for range 100 {
		if !s.ShouldTrace(Request{}).Sample {
			t.Fatal("no daemon: the fallback must decide")
		}
	}
	waitFor(t, "the warning", func() bool { return logs.String() != "" })
	time.Sleep(50 * time.Millisecond) // several failed polls
	s.Close()
	if n := strings.Count(logs.String(), "cannot get"); n != 1 {
		t.Errorf("%d warnings for one streak of failures:\n%s", n, logs.String())
	}
}

func TestCentralizedGarbageAndHang(t *testing.T) {
	d := &fakeDaemon{garbage: true}
	s, logs := newStrategy(t, d, WithFallback(Never))
	s.ShouldTrace(Request{})
	waitFor(t, "the warning", func() bool { return strings.Contains(logs.String(), "cannot get") })
	if s.snapshot.Load() != nil || s.ShouldTrace(Request{}).Sample {
		t.Error("garbage from the daemon must leave the fallback deciding")
	}

	// A daemon that never answers: decisions do not wait, Close does not hang.
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer srv.Close()
	defer close(hang)
	s2, err := NewCentralizedStrategy(WithDaemonAddress(strings.TrimPrefix(srv.URL, "http://")), WithFallback(Always),
		WithHTTPClient(&http.Client{}), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if !s2.ShouldTrace(Request{}).Sample {
			t.Fatal("a hanging daemon: the fallback must decide")
		}
	}
	s2.Close()
}

// After Close, no goroutine of the strategy is left.
func TestCentralizedNoLeak(t *testing.T) {
	d := &fakeDaemon{pages: [][]map[string]any{{rule("Default", 10000, 1, 0, nil)}}}
	for range 3 {
		s, _ := newStrategy(t, d)
		s.ShouldTrace(Request{})
		waitFor(t, "rules", func() bool { return s.snapshot.Load() != nil })
		time.Sleep(30 * time.Millisecond) // a targets poll
		s.Close()
	}
	// Closed before any decision: nothing starts.
	s, _ := newStrategy(t, d)
	s.Close()
	s.ShouldTrace(Request{})
	waitFor(t, "the pollers to end", func() bool {
		buf := make([]byte, 1<<20)
		return !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "(*CentralizedStrategy).poll")
	})
}

func BenchmarkCentralizedDecision(b *testing.B) {
	rules := []*centralRule{
		{name: "api", priority: 1, serviceName: "*", serviceType: "*", host: "*", method: "POST", urlPath: "/api/*"},
		{name: "health", priority: 2, serviceName: "*", serviceType: "*", host: "*", method: "*", urlPath: "/health"},
		{name: "Default", priority: 10000, reservoir: 1, isDefault: true},
	}
	rules[2].rate.Store(0)
	for _, r := range rules {
		r.quota.Store(100)
		r.ttl.Store(time.Now().Add(time.Hour).UnixNano())
	}
	s, _ := NewCentralizedStrategy(WithDaemonAddress("127.0.0.1:1"))
	s.started.Store(true) // no pollers: the decision alone
	s.snapshot.Store(&manifest{rules: rules, fetched: time.Now()})
	req := Request{Host: "api.example.com", Method: "GET", URL: "/users/42", ServiceName: "orders"}
	b.ReportAllocs()
	for b.Loop() {
		s.ShouldTrace(req)
	}
}
