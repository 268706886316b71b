package local

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestScale measures the local daemon at 100k stored segments: ingest rate
// (received and stored), memory, and the latency of the trace list. It
// prints figures and asserts nothing about time. Run with XRAY_SCALE=1.
func TestScale(t *testing.T) {
	if os.Getenv("XRAY_SCALE") == "" {
		t.Skip("set XRAY_SCALE=1 to measure")
	}
	l, err := Start(context.Background(), Options{UDP: "127.0.0.1:0", HTTP: "127.0.0.1:0", OTLP: "127.0.0.1:0", DB: filepath.Join(t.TempDir(), "scale.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conn, err := net.Dial("udp", l.Daemon.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 100_000
	now := float64(time.Now().Unix())
	sub := `{"name":"orders@db","id":"%016x","start_time":%f,"end_time":%f,"namespace":"remote","sql":{"url":"postgresql://db/orders","sanitized_query":"SELECT * FROM orders WHERE user_id = $1","database_type":"PostgreSQL"},"metadata":{"sql":{"rows_read":3}}}`
	start := time.Now()
	for i := range n {
		subs := make([]string, 3)
		for j := range subs {
			subs[j] = fmt.Sprintf(sub, uint64(i)<<8|uint64(j+1), now+float64(i)/1000, now+float64(i)/1000+0.001)
		}
		doc := fmt.Sprintf(hdr+`{"name":"svc-%d","id":"%016x","trace_id":"1-5f84c7a1-%024x","start_time":%f,"end_time":%f,"http":{"request":{"method":"GET","url":"http://x/api"},"response":{"status":%d}},"annotations":{"user":"u%d","tier":"gold"},"subsegments":[%s]}`,
			i%5, uint64(i)<<8, i, now+float64(i)/1000, now+float64(i)/1000+0.01, 200+(i%7)*50, i%1000, strings.Join(subs, ","))
		if _, err := conn.Write([]byte(doc)); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 { // pace to what the receiver takes; the kernel may still drop
			// Also wait for the store: a full queue refuses documents,
			// and this measures what gets stored.
			for deadline := time.Now().Add(time.Second); (l.Daemon.Stats().Received < uint64(i+1)-50 || l.Daemon.Stats().Queued > 5000) && time.Now().Before(deadline); {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}
	settle := func(count func() int64) {
		last, since := count(), time.Now()
		for time.Since(since) < time.Second {
			time.Sleep(10 * time.Millisecond)
			if c := count(); c != last {
				last, since = c, time.Now()
			}
		}
	}
	settle(func() int64 { return int64(l.Daemon.Stats().Received) })
	received := time.Since(start) - time.Second
	accepted := int64(l.Daemon.Stats().Accepted)
	for deadline := time.Now().Add(5 * time.Minute); l.Store.Stats(context.Background()).Documents < accepted && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	storedIn := time.Since(start)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := l.Store.Stats(context.Background())
	t.Logf("ingest: %d sent, %d received (the kernel dropped %d), in %v (%.0f/s); %d stored in %v (%.0f/s)",
		n, l.Daemon.Stats().Received, n-int(l.Daemon.Stats().Received), received.Round(time.Millisecond), float64(l.Daemon.Stats().Received)/received.Seconds(),
		st.Documents, storedIn.Round(time.Millisecond), float64(st.Documents)/storedIn.Seconds())
	t.Logf("memory at %d stored segments: heap in use %.1f MiB, process RSS %s; database %.1f MiB; refused %v",
		st.Documents, float64(ms.HeapInuse)/(1<<20), rss(), float64(st.SizeBytes)/(1<<20), l.Daemon.Stats().Refused)
	for _, f := range []string{"", `annotation.user = "u42"`, "responsetime > 0.005 AND http.status >= 500", `service("svc-3") AND NOT fault`} {
		var best time.Duration
		for range 5 {
			t0 := time.Now()
			resp, err := http.Get("http://" + l.HTTPAddr + "/api/traces?limit=100&filter=" + url.QueryEscape(f))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if d := time.Since(t0); best == 0 || d < best {
				best = d
			}
		}
		t.Logf("trace list (100 rows) filter %-45q best of 5: %v", f, best.Round(10*time.Microsecond))
	}
}

func rss() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:"))
		}
	}
	return "?"
}
