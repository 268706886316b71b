package xraychi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xraychi"
	"github.com/openxray/xray/sampling"
)

// BenchmarkMiddleware is a request through a chi router, without and with
// the middleware (sampled, sent nowhere), without the network.
func BenchmarkMiddleware(b *testing.B) {
	r, _ := xray.New(xray.Config{Emitter: xray.DiscardEmitter{}, SamplingStrategy: sampling.Always})
	for _, traced := range []bool{false, true} {
		name := "plain"
		if traced {
			name = "traced"
		}
		b.Run(name, func(b *testing.B) {
			mux := chi.NewRouter()
			if traced {
				mux.Use(xraychi.Middleware(xraychi.WithRecorder(r)))
			}
			mux.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
			req := httptest.NewRequest("GET", "/users/42", nil)
			b.ReportAllocs()
			for b.Loop() {
				mux.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
