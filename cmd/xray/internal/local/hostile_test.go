package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openxray/xray/cmd/xray/internal/store"
)

// xray local reads whatever arrives on its port and answers whoever asks:
// each test here is one way that broke, and what happens now.

const traceA = "1-5f84c7a1-00000000000000000000000a"

// get returns the status and body of a request, checking that the body is
// valid, non-empty JSON.
func get(t *testing.T, l *Local, path string, header ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+l.HTTPAddr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%.100s: status %d, body is not JSON (%v): %.200q", path, resp.StatusCode, err, body)
	}
	return resp.StatusCode, v
}

func TestInfiniteTimesRefused(t *testing.T) {
	l := start(t)
	now := float64(time.Now().Unix())
	send(t, l,
		hdr+`{"name":"inf","id":"000000000000000a","trace_id":"`+traceA+`","start_time":1e308,"end_time":-1e308}`,
		hdr+fmt.Sprintf(`{"name":"ok","id":"000000000000000b","trace_id":"%s","start_time":%f,"end_time":%f}`, traceA, now, now+1))
	stored(t, l, 1)
	for _, p := range []string{"/api/traces", "/api/services", "/api/traces/" + traceA} {
		if code, _ := get(t, l, p); code != 200 {
			t.Errorf("%s: %d", p, code)
		}
	}
	if n := l.Daemon.Stats().Refused["wrong_type"]; n != 1 {
		t.Errorf("refused wrong_type = %d, want 1", n)
	}
}

func TestFilterBounds(t *testing.T) {
	l := start(t)
	// Through the API (a URL of up to 64 KB of header).
	for _, f := range []string{strings.Repeat("!", 10_000), strings.Repeat("(", 10_000), strings.Repeat("(", 100) + "fault" + strings.Repeat(")", 100)} {
		code, body := get(t, l, "/api/traces?filter="+urlEscape(f))
		if code != 400 || !strings.HasPrefix(fmt.Sprint(body["error"]), "filter:") {
			t.Errorf("filter of %d bytes: %d %v", len(f), code, body)
		}
	}
	// What broke before, straight to the store: refused at once.
	for _, f := range []string{strings.Repeat("!", 80_000), strings.Repeat("(", 1<<20), strings.Repeat("!(", 2000) + "fault"} {
		began := time.Now()
		_, err := l.Store.Traces(context.Background(), store.Query{Filter: f})
		var fe *store.FilterError
		if !errors.As(err, &fe) {
			t.Errorf("filter of %d bytes: %v", len(f), err)
		}
		t.Logf("filter of %d bytes refused in %v: %v", len(f), time.Since(began).Round(time.Microsecond), err)
	}
	// Within the bounds, nesting still works.
	if code, body := get(t, l, "/api/traces?filter="+urlEscape(strings.Repeat("(", 20)+"fault"+strings.Repeat(")", 20))); code != 200 {
		t.Errorf("nested filter: %d %v", code, body)
	}
}

func TestBigTraceIsTruncated(t *testing.T) {
	l := start(t)
	now := float64(time.Now().Unix())
	payload := strings.Repeat("p", 60_000)
	var docs []string
	const n = 300 // 18 MB
	for i := range n {
		docs = append(docs, hdr+fmt.Sprintf(`{"name":"big","id":"%016x","trace_id":"%s","start_time":%f,"end_time":%f,"metadata":{"x":{"p":"%s"}}}`, i+1, traceA, now+float64(i)/1000, now+1, payload))
	}
	for i := 0; i < len(docs); i += 20 {
		send(t, l, docs[i:min(i+20, len(docs))]...)
		stored(t, l, int64(min(i+20, len(docs))))
	}
	code, body := get(t, l, "/api/traces/"+traceA)
	if code != 200 || body["truncated"] != true || body["documents_total"] != float64(n) {
		t.Fatalf("status %d, truncated %v, documents_total %v", code, body["truncated"], body["documents_total"])
	}
	if got := len(body["documents"].([]any)); got >= n || got*60_000 > store.MaxTraceBytes {
		t.Errorf("%d documents in the answer", got)
	}
}

func TestHostAndOriginChecked(t *testing.T) {
	l := start(t)
	if code, _ := get(t, l, "/api/traces", "Host", "evil.example:2001"); code != http.StatusMisdirectedRequest {
		t.Errorf("foreign Host: %d", code)
	}
	for _, h := range []string{"localhost:2001", "127.0.0.1", "[::1]:2001", l.HTTPAddr} {
		if code, _ := get(t, l, "/api/traces", "Host", h); code != 200 {
			t.Errorf("Host %s: %d", h, code)
		}
	}
	req, _ := http.NewRequest("POST", "http://"+l.HTTPAddr+"/GetSamplingRules", strings.NewReader("{}"))
	req.Header.Set("Origin", "http://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST: %d", resp.StatusCode)
	}
}

func TestServerTimeouts(t *testing.T) {
	srv := newServer(http.NotFoundHandler())
	if srv.ReadTimeout == 0 || srv.WriteTimeout == 0 || srv.IdleTimeout == 0 || srv.ReadHeaderTimeout == 0 {
		t.Errorf("timeouts: %+v", srv)
	}
}

func TestParentCycleKeepsEveryDocument(t *testing.T) {
	l := start(t)
	now := float64(time.Now().Unix())
	// a → b → c → a: subsegments whose parents form a cycle.
	ids := []string{"000000000000000a", "000000000000000b", "000000000000000c"}
	var docs []string
	for i, id := range ids {
		parent := ids[(i+2)%3]
		docs = append(docs, hdr+fmt.Sprintf(`{"name":"n%d","id":"%s","trace_id":"%s","type":"subsegment","parent_id":"%s","start_time":%f,"end_time":%f}`, i, id, traceA, parent, now, now+1))
	}
	send(t, l, docs...)
	stored(t, l, 3)
	code, body := get(t, l, "/api/traces/"+traceA)
	roots, _ := body["roots"].([]any)
	if code != 200 || len(roots) == 0 {
		t.Fatalf("status %d, roots %v", code, body["roots"])
	}
	var count func([]any) int
	count = func(ns []any) int {
		c := 0
		for _, n := range ns {
			kids, _ := n.(map[string]any)["children"].([]any)
			c += 1 + count(kids)
		}
		return c
	}
	if got := count(roots); got != 3 {
		t.Errorf("%d nodes shown, want 3", got)
	}
}

func TestTraceIDStrict(t *testing.T) {
	l := start(t)
	now := float64(time.Now().Unix())
	send(t, l, hdr+fmt.Sprintf(`{"name":"a","id":"000000000000000a","trace_id":"%s","start_time":%f,"end_time":%f}`, traceA, now, now+1))
	stored(t, l, 1)
	for _, p := range []string{"/api/traces/1-5f84c7a1-00000000000000000000000%61", "/api/traces/x", "/api/traces/" + traceA + "0"} {
		if code, _ := get(t, l, p); code != 400 {
			t.Errorf("%s: %d, want 400", p, code)
		}
	}
}

func TestTimeRangeValidated(t *testing.T) {
	l := start(t)
	for _, q := range []string{"from=1e300", "to=-5", "from=NaN", "since=-1h", "from=2000-01-01T00:00:00Z&to=1999-01-01T00:00:00Z", "limit=0", "limit=x"} {
		if code, body := get(t, l, "/api/traces?"+q); code != 400 || body["error"] == nil {
			t.Errorf("%s: %d %v", q, code, body)
		}
	}
}

func TestDocumentIDsScopedByTrace(t *testing.T) {
	l := start(t)
	now := float64(time.Now().Unix())
	traceB := "1-5f84c7a1-00000000000000000000000b"
	send(t, l,
		hdr+fmt.Sprintf(`{"name":"first","id":"000000000000000a","trace_id":"%s","start_time":%f,"end_time":%f}`, traceA, now, now+1),
		hdr+fmt.Sprintf(`{"name":"intruder","id":"000000000000000a","trace_id":"%s","start_time":%f,"end_time":%f}`, traceB, now, now+1))
	stored(t, l, 2)
	_, body := get(t, l, "/api/traces/"+traceA)
	roots, _ := body["roots"].([]any)
	if len(roots) != 1 || roots[0].(map[string]any)["name"] != "first" {
		t.Errorf("trace A shows %v", body["roots"])
	}
}

func TestNonASCIIAnnotationKeys(t *testing.T) {
	l := start(t)
	now := float64(time.Now().Unix())
	send(t, l, hdr+fmt.Sprintf(`{"name":"a","id":"000000000000000a","trace_id":"%s","start_time":%f,"end_time":%f,"annotations":{"клиент":"ü","客户":1}}`, traceA, now, now+1))
	stored(t, l, 1)
	for _, f := range []string{`annotation.клиент = "ü"`, `annotation.客户 = 1`} {
		code, body := get(t, l, "/api/traces?filter="+urlEscape(f))
		if list, _ := body["traces"].([]any); code != 200 || len(list) != 1 {
			t.Errorf("%s: %d %v", f, code, body)
		}
	}
}

func TestDatabaseIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	path := filepath.Join(dir, "t.db")
	l, err := Start(context.Background(), Options{UDP: "127.0.0.1:0", HTTP: "127.0.0.1:0", OTLP: "127.0.0.1:0", DB: path})
	if err != nil {
		t.Fatal(err)
	}
	send(t, l, hdr+fmt.Sprintf(`{"name":"a","id":"000000000000000a","trace_id":"%s","start_time":1,"end_time":2}`, traceA))
	stored(t, l, 1)
	defer l.Close()
	check := func(p string, want fs.FileMode) {
		fi, err := os.Stat(p)
		if err != nil {
			if os.IsNotExist(err) {
				return
			}
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got&0o077 != 0 || got&want != want {
			t.Errorf("%s: mode %v", p, got)
		}
	}
	check(dir, 0o700)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		check(p, 0o600)
	}
}

func TestConcurrentExpensiveQueriesBounded(t *testing.T) {
	l := start(t)
	var wg sync.WaitGroup
	codes := make(chan int, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := get(t, l, "/api/services")
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 && c != http.StatusServiceUnavailable {
			t.Errorf("status %d", c)
		}
	}
}

func urlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}
