package xrayecho_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xrayecho"
	"github.com/openxray/xray/sampling"
)

// BenchmarkMiddleware is a request through an echo server, without and
// with the middleware (sampled, sent nowhere), without the network.
func BenchmarkMiddleware(b *testing.B) {
	r, _ := xray.New(xray.Config{Emitter: xray.DiscardEmitter{}, SamplingStrategy: sampling.Always})
	for _, traced := range []bool{false, true} {
		name := "plain"
		if traced {
			name = "traced"
		}
		b.Run(name, func(b *testing.B) {
			e := echo.New()
			if traced {
				e.Use(xrayecho.Middleware(xrayecho.WithRecorder(r)))
			}
			e.GET("/users/:id", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
			req := httptest.NewRequest("GET", "/users/42", nil)
			b.ReportAllocs()
			for b.Loop() {
				e.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
