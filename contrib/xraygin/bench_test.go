package xraygin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xraygin"
	"github.com/openxray/xray/sampling"
)

// BenchmarkMiddleware is a request through a gin engine, without and with
// the middleware (sampled, sent nowhere), without the network.
func BenchmarkMiddleware(b *testing.B) {
	r, _ := xray.New(xray.Config{Emitter: xray.DiscardEmitter{}, SamplingStrategy: sampling.Always})
	gin.SetMode(gin.ReleaseMode)
	for _, traced := range []bool{false, true} {
		name := "plain"
		if traced {
			name = "traced"
		}
		b.Run(name, func(b *testing.B) {
			e := gin.New()
			if traced {
				e.Use(xraygin.Middleware(xraygin.WithRecorder(r)))
			}
			e.GET("/users/:id", func(c *gin.Context) { c.Status(http.StatusNoContent) })
			req := httptest.NewRequest("GET", "/users/42", nil)
			b.ReportAllocs()
			for b.Loop() {
				e.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
