package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/cmd/xray/internal/store"
	"github.com/openxray/xray/sampling"
)

func start(t *testing.T) *Local {
	t.Helper()
	l, err := Start(context.Background(), Options{UDP: "127.0.0.1:0", HTTP: "127.0.0.1:0", OTLP: "127.0.0.1:0", DB: filepath.Join(t.TempDir(), "t.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func getJSON(t *testing.T, l *Local, path string, v any) int {
	t.Helper()
	resp, err := http.Get("http://" + l.HTTPAddr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return resp.StatusCode
}

// stored waits until the store holds n documents.
func stored(t *testing.T, l *Local, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.Store.Stats(context.Background()).Documents < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d documents stored, want %d", l.Store.Stats(context.Background()).Documents, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func send(t *testing.T, l *Local, docs ...string) {
	t.Helper()
	conn, err := net.Dial("udp", l.Daemon.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, d := range docs {
		if _, err := conn.Write([]byte(d)); err != nil {
			t.Fatal(err)
		}
	}
}

func countNodes(ns []*store.Node, name string) int {
	n := 0
	for _, x := range ns {
		if x.Name == name {
			n++
		}
		n += countNodes(x.Children, name)
	}
	return n
}

// Documents from this SDK, with subsegments streamed ahead of their
// segment and a downstream service, assemble into one tree.
func TestSDKTraceAssembles(t *testing.T) {
	l := start(t)
	r, err := xray.New(xray.Config{DaemonAddr: l.Daemon.Addr().String(), SamplingStrategy: sampling.Always, StreamingThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	ctx, seg := r.BeginSegment(context.Background(), "frontend")
	xray.AddAnnotation(ctx, "user", "alice")
	for i := range 5 {
		_, sub := xray.BeginSubsegment(ctx, fmt.Sprintf("step-%d", i))
		sub.SetNamespace("remote")
		sub.SetSQL(&xray.SQL{SanitizedQuery: "SELECT * FROM t WHERE id = ?", DatabaseType: "PostgreSQL"})
		sub.Close(nil)
	}
	cctx, call := xray.BeginSubsegment(ctx, "backend-call")
	call.SetNamespace("remote")
	call.SetHTTPRequest(xray.HTTPRequest{Method: "GET", URL: "http://backend/x", Traced: true})
	_, down := r.BeginSegment(context.Background(), "backend", xray.WithTraceHeader(call.DownstreamHeader()))
	down.AddFaultFlag()
	down.Close(nil)
	call.Close(nil)
	_ = cctx
	seg.Close(nil)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	stored(t, l, 3) // at least the two segments and a streamed subsegment

	var list struct{ Traces []store.Summary }
	deadline := time.Now().Add(5 * time.Second)
	for {
		getJSON(t, l, "/api/traces?filter="+url.QueryEscape(`annotation.user = "alice"`), &list)
		if len(list.Traces) == 1 && list.Traces[0].Fault {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace list: %+v", list)
		}
		time.Sleep(20 * time.Millisecond)
	}
	sm := list.Traces[0]
	if sm.TraceID != seg.TraceID() || sm.Name != "frontend" || sm.Annotations["user"] != "alice" {
		t.Errorf("summary %+v", sm)
	}
	var tr store.Trace
	getJSON(t, l, "/api/traces/"+seg.TraceID(), &tr)
	if len(tr.Roots) != 1 || tr.Roots[0].Name != "frontend" {
		t.Fatalf("roots: %+v", tr.Roots)
	}
	for i := range 5 {
		if n := countNodes(tr.Roots, fmt.Sprintf("step-%d", i)); n != 1 {
			t.Errorf("step-%d appears %d times", i, n)
		}
	}
	if countNodes(tr.Roots, "backend") != 1 || len(tr.SQL) != 5 {
		t.Errorf("backend nested %d times, %d statements, n+1 %v", countNodes(tr.Roots, "backend"), len(tr.SQL), tr.SQL)
	}
	var sm2 store.ServiceMap
	getJSON(t, l, "/api/services", &sm2)
	found := false
	for _, e := range sm2.Edges {
		if e.From == "frontend" && e.To == "backend" && e.Calls == 1 && e.ErrorRate == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("service map has no frontend → backend edge: %+v", sm2)
	}
}

const hdr = "{\"format\": \"json\", \"version\": 1}\n"

// Documents as aws-xray-sdk-go and the Python SDK send them: an in-progress
// segment, replaced later by the complete one, and subsegments sent alone,
// some before their segment.
func TestOtherSDKFormats(t *testing.T) {
	l := start(t)
	const trace = "1-5f84c7a1-5a7ab1c1b9a3c7e8d9f01234"
	now := float64(time.Now().Unix())
	goSegment := fmt.Sprintf(`{"trace_id":"%s","id":"1111111111111111","name":"go-service","start_time":%f,"end_time":%f,"http":{"request":{"method":"GET","url":"http://x/"},"response":{"status":503}},"fault":true,"aws":{"xray":{"sdk_version":"1.8.5","sdk":"X-Ray for Go"}},"service":{"compiler_version":"go1.22","compiler":"gc"},"annotations":{"tier":"gold"},"subsegments":[{"id":"2222222222222222","name":"dynamodb","start_time":%f,"end_time":%f,"namespace":"aws","aws":{"operation":"GetItem","table_name":"users"}}]}`, trace, now, now+0.3, now+0.01, now+0.02)
	pyInProgress := fmt.Sprintf(`{"id":"3333333333333333","name":"python-worker","trace_id":"%s","parent_id":"2222222222222222","start_time":%f,"in_progress":true,"aws":{"xray":{"sdk":"X-Ray for Python","sdk_version":"2.12.0"}},"service":{"runtime":"CPython","runtime_version":"3.11"}}`, trace, now+0.05)
	pySub := fmt.Sprintf(`{"id":"4444444444444444","name":"postgres@db","start_time":%f,"end_time":%f,"namespace":"remote","type":"subsegment","parent_id":"3333333333333333","trace_id":"%s","sql":{"url":"postgresql://db/app","sanitized_query":"SELECT 1","database_type":"PostgreSQL"}}`, now+0.06, now+0.07, trace)
	pyDone := fmt.Sprintf(`{"id":"3333333333333333","name":"python-worker","trace_id":"%s","parent_id":"2222222222222222","start_time":%f,"end_time":%f}`, trace, now+0.05, now+0.25)
	// The subsegment first, the in-progress segment, then the Go segment,
	// then the complete version.
	send(t, l, hdr+pySub, hdr+pyInProgress, hdr+goSegment)
	stored(t, l, 3)
	send(t, l, hdr+pyDone)
	deadline := time.Now().Add(5 * time.Second)
	var tr store.Trace
	for {
		tr = store.Trace{} // decode afresh: omitted fields must not linger
		getJSON(t, l, "/api/traces/"+trace, &tr)
		if len(tr.Roots) == 1 && countNodes(tr.Roots, "python-worker") == 1 && tr.End >= now+0.29 {
			if n := findNode(tr.Roots, "python-worker"); n != nil && !n.InProgress {
				break
			}
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(tr.Documents)
			t.Fatalf("trace did not assemble: %s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	worker := findNode(tr.Roots, "python-worker")
	if findNode(worker.Children, "postgres@db") == nil || findNode(findNode(tr.Roots, "dynamodb").Children, "python-worker") == nil {
		t.Errorf("links wrong: %+v", tr.Roots)
	}
	if len(tr.Documents) != 3 {
		t.Errorf("%d documents stored, want 3 (the in-progress one replaced)", len(tr.Documents))
	}
	var list struct{ Traces []store.Summary }
	getJSON(t, l, "/api/traces?filter="+url.QueryEscape(`fault AND http.status = 503 AND service("python-worker")`), &list)
	if len(list.Traces) != 1 || list.Traces[0].Name != "go-service" || list.Traces[0].HTTPStatus != 503 {
		t.Errorf("filter: %+v", list.Traces)
	}
	// A late in-progress copy must not replace the complete document.
	before := l.Store.Stats(context.Background()).Stored
	send(t, l, hdr+pyInProgress)
	stored(t, l, 0)
	for deadline := time.Now().Add(5 * time.Second); l.Store.Stats(context.Background()).Stored == before; {
		if time.Now().After(deadline) {
			t.Fatal("the late copy was never written")
		}
		time.Sleep(5 * time.Millisecond)
	}
	tr = store.Trace{}
	getJSON(t, l, "/api/traces/"+trace, &tr)
	if n := findNode(tr.Roots, "python-worker"); n == nil || n.InProgress {
		t.Error("an in-progress document replaced the complete one")
	}
}

func findNode(ns []*store.Node, name string) *store.Node {
	for _, n := range ns {
		if n.Name == name {
			return n
		}
		if f := findNode(n.Children, name); f != nil {
			return f
		}
	}
	return nil
}

func TestFiltersAndErrors(t *testing.T) {
	l := start(t)
	now := float64(time.Now().Unix())
	doc := func(i int, extra string) string {
		return fmt.Sprintf(hdr+`{"name":"svc-%d","id":"%016x","trace_id":"1-5f84c7a1-%024x","start_time":%f,"end_time":%f%s}`, i%2, i+1, i+1, now+float64(i), now+float64(i)+float64(i)/10, extra)
	}
	send(t, l,
		doc(0, `,"annotations":{"n":1,"ok":true}`),
		doc(1, `,"error":true,"annotations":{"n":2}`),
		doc(2, `,"fault":true,"annotations":{"n":3}`),
		doc(3, `,"throttle":true,"error":true`),
		"garbage", hdr+"{", hdr+`{"name":2}`)
	stored(t, l, 4)
	cases := map[string]int{
		"":                             4,
		"fault":                        1,
		"error OR fault":               3,
		"NOT fault AND NOT error":      1,
		"ok":                           1,
		"responsetime > 0.15":          2,
		"duration <= 0.1":              2,
		"annotation.n >= 2":            2,
		"annotation.ok = true":         1,
		`service("svc-1")`:             2,
		`service != "svc-1"`:           2,
		`name = "svc-0" && !fault`:     1,
		"(fault || throttle) && error": 1,
	}
	for f, want := range cases {
		var list struct{ Traces []store.Summary }
		if code := getJSON(t, l, "/api/traces?filter="+url.QueryEscape(f), &list); code != 200 || len(list.Traces) != want {
			t.Errorf("filter %q: %d traces (status %d), want %d", f, len(list.Traces), code, want)
		}
	}
	for _, bad := range []string{"annotation.x ==", "bogus", "responsetime > abc", `service("x"`, "fault AND"} {
		var e map[string]string
		if code := getJSON(t, l, "/api/traces?filter="+url.QueryEscape(bad), &e); code != 400 || e["error"] == "" {
			t.Errorf("bad filter %q: status %d, %v", bad, code, e)
		}
	}
	var st struct {
		Daemon struct {
			Refused map[string]uint64 `json:"refused"`
		} `json:"daemon"`
	}
	getJSON(t, l, "/api/status", &st)
	if st.Daemon.Refused["malformed_header"] != 1 || st.Daemon.Refused["invalid_json"] != 1 || st.Daemon.Refused["wrong_type"] != 1 {
		t.Errorf("status refused = %v", st.Daemon.Refused)
	}
	if code := getJSON(t, l, "/api/traces/1-00000000-000000000000000000000000", &map[string]any{}); code != 404 {
		t.Errorf("unknown trace: %d", code)
	}
	if n, err := l.Store.Prune(context.Background(), time.Now().Add(time.Minute)); err != nil || n != 4 {
		t.Errorf("prune: %d, %v", n, err)
	}
}

func TestSamplingAPI(t *testing.T) {
	l := start(t)
	post := func(path, body string) map[string]any {
		resp, err := http.Post("http://"+l.HTTPAddr+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %s", path, b)
		}
		return m
	}
	rules := post("/GetSamplingRules", "{}")
	recs := rules["SamplingRuleRecords"].([]any)
	rule := recs[0].(map[string]any)["SamplingRule"].(map[string]any)
	if len(recs) != 1 || rule["RuleName"] != "Default" || rule["FixedRate"] != 0.05 || rule["ReservoirSize"] != 1.0 {
		t.Errorf("rules = %v", rules)
	}
	targets := post("/SamplingTargets", `{"SamplingStatisticsDocuments":[{"RuleName":"Default","ClientID":"0123456789abcdef01234567","RequestCount":10,"SampledCount":1,"BorrowCount":0,"Timestamp":1}]}`)
	docs := targets["SamplingTargetDocuments"].([]any)
	if len(docs) != 1 || docs[0].(map[string]any)["ReservoirQuota"] != 1.0 {
		t.Errorf("targets = %v", targets)
	}
	// The same API on the daemon's TCP port, as the AWS daemon has it.
	resp, err := http.Post("http://"+l.Daemon.Addr().String()+"/GetSamplingRules", "application/json", bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("TCP sampling API: %s", resp.Status)
	}
}
