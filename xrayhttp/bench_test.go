package xrayhttp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xrayhttp"
)

// benchRecorder returns a recorder that encodes documents and drops them:
// the figures are the instrumentation's cost on the request path.
func benchRecorder(b *testing.B, s sampling.Strategy) *xray.Recorder {
	r, err := xray.New(xray.Config{Emitter: xray.DiscardEmitter{}, SamplingStrategy: s})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "hello")
})

// benchHandler serves one request per iteration through h, in memory, so
// the figures are the handler's own cost (the recorder and request are
// shared by every variant).
func benchHandler(b *testing.B, h http.Handler) {
	req := httptest.NewRequest("GET", "http://svc.local/api/users", nil)
	req.Header.Set("User-Agent", "bench")
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

func BenchmarkHandler(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchHandler(b, hello) })
	b.Run("unsampled", func(b *testing.B) {
		rec := benchRecorder(b, sampling.Never)
		benchHandler(b, xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("svc"), hello, xrayhttp.WithRecorder(rec)))
	})
	b.Run("sampled", func(b *testing.B) {
		rec := benchRecorder(b, sampling.Always)
		benchHandler(b, xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("svc"), hello, xrayhttp.WithRecorder(rec)))
	})
}

// BenchmarkClient is a round trip over loopback with and without the
// traced transport (in a sampled segment).
func BenchmarkClient(b *testing.B) {
	rec := benchRecorder(b, sampling.Always)
	srv := httptest.NewServer(hello)
	defer srv.Close()
	for _, v := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"plain", http.DefaultTransport},
		{"traced", xrayhttp.RoundTripper(http.DefaultTransport)},
	} {
		b.Run(v.name, func(b *testing.B) {
			client := &http.Client{Transport: v.rt}
			ctx, seg := rec.BeginSegment(context.Background(), "bench")
			defer seg.Close(nil)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if n++; n%500 == 0 {
					b.StopTimer()
					seg.Close(nil)
					ctx, seg = rec.BeginSegment(context.Background(), "bench")
					b.StartTimer()
				}
			}
		})
	}
}
