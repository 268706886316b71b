package xrayhttp_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/header"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xrayhttp"
	"github.com/openxray/xray/xraytest"
)

// useDaemon returns a recorder that sends to a real UDP daemon with
// strategy s, for the duration of the test; the test runs in parallel.
func useDaemon(t *testing.T, s sampling.Strategy) (*xray.Recorder, *xraytest.Daemon) {
	t.Helper()
	t.Parallel()
	d := xraytest.NewDaemon(t)
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: s})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r, d
}

func flush(t *testing.T, r *xray.Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// docs waits for n documents and checks each against the schema.
func docs(t *testing.T, d *xraytest.Daemon, n int) []xraytest.Document {
	t.Helper()
	out := d.WaitDocuments(t, n, 5*time.Second)
	for _, doc := range out {
		if err := xraytest.Validate(doc); err != nil {
			t.Errorf("schema: %v", err)
		}
	}
	return out
}

func TestChainOfServices(t *testing.T) {
	rec, d := useDaemon(t, sampling.Always)
	client := xrayhttp.Client(nil, xrayhttp.WithRecorder(rec))

	b := httptest.NewServer(xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("service-b"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "from b")
	}), xrayhttp.WithRecorder(rec)))
	defer b.Close()
	a := httptest.NewServer(xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("service-a"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", b.URL+"/inner?token=SECRET", nil)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		io.Copy(w, resp.Body)
		resp.Body.Close()
	}), xrayhttp.WithRecorder(rec)))
	defer a.Close()

	// The caller's own segment: client → A → client → B is one trace.
	ctx, root := rec.BeginSegment(context.Background(), "caller")
	req, _ := http.NewRequestWithContext(ctx, "GET", a.URL+"/outer?q=1", nil)
	req.Header.Set("User-Agent", "xray-test")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "from b" {
		t.Fatalf("body %q", body)
	}
	if got := resp.Header.Get(header.Name); got != "Root="+root.TraceID() {
		t.Errorf("response header %q", got)
	}
	root.Close(nil)
	flush(t, rec)

	all := docs(t, d, 3)
	byName := map[string]xraytest.Document{}
	for _, doc := range all {
		byName[doc.Name()] = doc
		if doc.String("trace_id") != root.TraceID() {
			t.Errorf("%s is in trace %s, want %s", doc.Name(), doc.String("trace_id"), root.TraceID())
		}
	}
	caller, sa, sb := byName["caller"], byName["service-a"], byName["service-b"]
	if caller == nil || sa == nil || sb == nil {
		t.Fatalf("documents: %v", all)
	}
	callA := caller.Subsegments()[0]
	callB := sa.Subsegments()[0]
	if sa.String("parent_id") != callA.ID() || sb.String("parent_id") != callB.ID() {
		t.Errorf("parent links: A.parent=%s (want %s), B.parent=%s (want %s)", sa.String("parent_id"), callA.ID(), sb.String("parent_id"), callB.ID())
	}
	if callA.Name() != "127.0.0.1" || callA.String("namespace") != "remote" {
		t.Errorf("client subsegment: %v", callA)
	}
	creq := callB.Object("http")["request"].(map[string]any)
	if creq["traced"] != true || creq["method"] != "GET" || strings.Contains(creq["url"].(string), "SECRET") {
		t.Errorf("client http.request = %v", creq)
	}
	sreq := sa.Object("http")["request"].(map[string]any)
	if sreq["user_agent"] != "xray-test" || sreq["client_ip"] != "127.0.0.1" || strings.Contains(sreq["url"].(string), "q=1") {
		t.Errorf("server http.request = %v", sreq)
	}
	if resp := sb.Object("http")["response"].(map[string]any); resp["status"] != 200.0 || resp["content_length"] != 6.0 {
		t.Errorf("server http.response = %v", resp)
	}
}

func TestIncomingSamplingDecision(t *testing.T) {
	rec, d := useDaemon(t, sampling.Never)
	srv := httptest.NewServer(xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("svc"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !xray.IsSampled(r.Context()) && xray.TraceID(r.Context()) == "" {
			t.Error("no trace in the handler's context")
		}
	}), xrayhttp.WithRecorder(rec)))
	defer srv.Close()
	const root = "1-5759e988-bd862e3fe1be46a994272793"
	get := func(h string) string {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if h != "" {
			req.Header.Set(header.Name, h)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get(header.Name)
	}
	if got := get("Root=" + root + ";Parent=53995c3f42cd8ad8;Sampled=1"); got != "Root="+root {
		t.Errorf("Sampled=1 answered %q", got)
	}
	if got := get("Root=" + root + ";Sampled=0"); got != "Root="+root {
		t.Errorf("Sampled=0 answered %q", got)
	}
	if got := get("Root=" + root + ";Sampled=?"); got != "Root="+root+";Sampled=0" {
		t.Errorf("Sampled=? answered %q (strategy Never)", got)
	}
	got := get("Root=garbage;;Sampled=maybe")
	if !strings.HasPrefix(got, "Root=1-") || strings.Contains(got, "garbage") {
		t.Errorf("malformed header answered %q", got)
	}
	flush(t, rec)
	// Only the Sampled=1 request is recorded, as a child of the caller.
	all := docs(t, d, 1)
	if len(all) != 1 || all[0].String("trace_id") != root || all[0].String("parent_id") != "53995c3f42cd8ad8" {
		t.Errorf("documents: %v", all)
	}
}

func TestSamplingRulesSeeThePath(t *testing.T) {
	s, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version": 2,
	  "rules": [{"name": "api", "host": "*", "http_method": "POST", "url_path": "/api/*", "fixed_target": 0, "rate": 1}],
	  "default": {"fixed_target": 0, "rate": 0}}`))
	if err != nil {
		t.Fatal(err)
	}
	rec, d := useDaemon(t, s)
	srv := httptest.NewServer(xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("svc"), http.NotFoundHandler(), xrayhttp.WithRecorder(rec)))
	defer srv.Close()
	for _, p := range []string{"/health", "/api/orders"} {
		resp, err := http.Post(srv.URL+p, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	flush(t, rec)
	all := docs(t, d, 1)
	if len(all) != 1 || !strings.HasSuffix(all[0].Object("http")["request"].(map[string]any)["url"].(string), "/api/orders") {
		t.Fatalf("documents: %v", all)
	}
	if all[0].Object("aws")["xray"].(map[string]any)["sampling_rule_name"] != "api" {
		t.Errorf("rule name: %v", all[0].Object("aws"))
	}
}

func TestStatusClasses(t *testing.T) {
	rec, d := useDaemon(t, sampling.Always)
	srv := httptest.NewServer(xrayhttp.Handler(xrayhttp.NewDynamicSegmentNamer("fallback", "*.example.com"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var code int
		switch r.URL.Path {
		case "/404":
			code = 404
		case "/429":
			code = 429
		case "/503":
			code = 503
		default:
			code = 200
		}
		w.WriteHeader(code)
	}), xrayhttp.WithRecorder(rec)))
	defer srv.Close()
	for _, p := range []string{"/200", "/404", "/429", "/503"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	flush(t, rec)
	want := map[float64][3]bool{200: {}, 404: {true, false, false}, 429: {true, true, false}, 503: {false, false, true}}
	for _, doc := range docs(t, d, 4) {
		if doc.Name() != "fallback" {
			t.Errorf("name %q", doc.Name())
		}
		status := doc.Object("http")["response"].(map[string]any)["status"].(float64)
		w := want[status]
		if got := [3]bool{doc.Bool("error"), doc.Bool("throttle"), doc.Bool("fault")}; got != w {
			t.Errorf("status %v: error/throttle/fault = %v, want %v", status, got, w)
		}
	}
	n := xrayhttp.NewDynamicSegmentNamer("fallback", "*.example.com, api.local")
	if n.Name("shop.example.com") != "shop.example.com" || n.Name("api.local") != "api.local" || n.Name("other") != "fallback" {
		t.Error("dynamic namer")
	}
}

func TestHandlerPanic(t *testing.T) {
	rec, d := useDaemon(t, sampling.Always)
	h := xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("svc"), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("handler exploded")
	}), xrayhttp.WithRecorder(rec))
	func() {
		defer func() {
			if p := recover(); p != "handler exploded" {
				t.Errorf("recovered %v, want the handler's panic", p)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}()
	flush(t, rec)
	doc := docs(t, d, 1)[0]
	if !doc.Bool("fault") {
		t.Error("panic is not a fault")
	}
	ex := doc.Object("cause")["exceptions"].([]any)[0].(map[string]any)
	if ex["message"] != "handler exploded" || !strings.Contains(fmt_(ex["stack"]), "TestHandlerPanic") {
		t.Errorf("exception: %v", ex)
	}
}

func fmt_(v any) string {
	var b strings.Builder
	for _, f := range v.([]any) {
		b.WriteString(f.(map[string]any)["label"].(string))
		b.WriteByte('\n')
	}
	return b.String()
}

func TestWriterKeepsInterfaces(t *testing.T) {
	rec, d := useDaemon(t, sampling.Always)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		_, isFlusher := w.(http.Flusher)
		_, isHijacker := w.(http.Hijacker)
		_, isReaderFrom := w.(io.ReaderFrom)
		if !isFlusher || !isHijacker || !isReaderFrom {
			t.Errorf("writer lost interfaces: flusher %v hijacker %v readerFrom %v", isFlusher, isHijacker, isReaderFrom)
		}
		if _, isPusher := w.(http.Pusher); isPusher {
			t.Error("writer gained http.Pusher over HTTP/1.1")
		}
		rc := http.NewResponseController(w)
		for i := range 3 {
			io.WriteString(w, strings.Repeat("x", i+1))
			if err := rc.Flush(); err != nil {
				t.Error(err)
			}
		}
	})
	mux.HandleFunc("GET /hijack", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\nhello")
		buf.Flush()
	})
	srv := httptest.NewServer(xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("svc"), mux, xrayhttp.WithRouteName(nil), xrayhttp.WithRecorder(rec)))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "xxxxxx" {
		t.Errorf("stream body %q", body)
	}

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n")
	line, _ := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if !strings.Contains(line, "101") {
		t.Errorf("hijacked response %q", line)
	}
	flush(t, rec)
	names := map[string]xraytest.Document{}
	for _, doc := range docs(t, d, 2) {
		names[doc.Name()] = doc
	}
	stream, hijack := names["GET /stream"], names["GET /hijack"]
	if stream == nil || hijack == nil {
		t.Fatalf("segments not named by route: %v", names)
	}
	if st := stream.Object("http")["response"].(map[string]any); st["status"] != 200.0 || st["content_length"] != 6.0 {
		t.Errorf("stream response %v", st)
	}
	if st := hijack.Object("http")["response"].(map[string]any); st["status"] != 101.0 {
		t.Errorf("hijack response %v", st)
	}
}

func TestClientTimeoutIsFault(t *testing.T) {
	rec, d := useDaemon(t, sampling.Always)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	client := xrayhttp.Client(&http.Client{Timeout: 50 * time.Millisecond}, xrayhttp.WithTimings(), xrayhttp.WithRecorder(rec))
	ctx, seg := rec.BeginSegment(context.Background(), "caller")
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	_, err := client.Do(req)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
	seg.Close(nil)
	flush(t, rec)
	doc := docs(t, d, 1)[0]
	subs := doc.Subsegments()
	if len(subs) != 1 || !subs[0].Bool("fault") || subs[0]["end_time"] == nil {
		t.Fatalf("timed out call: %v", doc)
	}
	if md := subs[0].Object("metadata"); md == nil || md["http"] == nil {
		t.Errorf("timings missing: %v", subs[0])
	}
}

func TestClientWithoutSegment(t *testing.T) {
	rec, _ := useDaemon(t, sampling.Always)
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get(header.Name)
	}))
	defer srv.Close()
	resp, err := xrayhttp.Client(nil, xrayhttp.WithRecorder(rec)).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != "" {
		t.Errorf("header sent without a segment: %q", got)
	}
	// In an unsampled segment the callee is told not to sample.
	never, _ := xray.New(xray.Config{SamplingStrategy: sampling.Never, Emitter: xraytest.NewEmitter()})
	ctx, seg := never.BeginSegment(context.Background(), "quiet")
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err = xrayhttp.Client(nil, xrayhttp.WithRecorder(rec)).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := header.FromString(got)
	if h.TraceID != seg.TraceID() || h.SamplingDecision != header.NotSampled {
		t.Errorf("unsampled propagation: %q", got)
	}
}
