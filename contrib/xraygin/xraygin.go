// Package xraygin traces github.com/gin-gonic/gin engines: each request is
// an X-Ray segment named by the route gin matched (c.FullPath(), with
// :param as gin writes it), so that segments group by route.
//
//	r := gin.New()
//	r.Use(gin.Recovery(), xraygin.Middleware())
//
// The segment is in c.Request's context, so the handlers' database calls
// nest under it (pass c.Request.Context(), or c itself, on). The status
// gin wrote sets the flags (4xx error, 429 throttle, 5xx fault); errors
// collected in c.Errors are recorded as causes; a panic is recorded as a
// fault and goes on to gin.Recovery.
package xraygin

import (
	"github.com/gin-gonic/gin"
	"github.com/openxray/xray"
	"github.com/openxray/xray/xrayhttp"
)

// Option configures the middleware.
type Option interface {
	apply(*config)
}

type config struct {
	namer xrayhttp.SegmentNamer
	rec   *xray.Recorder
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithNamer names the segments of requests no route matched (404s); by
// default they are named after the request's host.
func WithNamer(n xrayhttp.SegmentNamer) Option { return optionFunc(func(c *config) { c.namer = n }) }

// WithRecorder records the segments with rec instead of the default
// recorder; nil means the default.
func WithRecorder(rec *xray.Recorder) Option { return optionFunc(func(c *config) { c.rec = rec }) }

// Middleware returns gin middleware that traces each request.
func Middleware(opts ...Option) gin.HandlerFunc {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if cfg.namer == nil {
		cfg.namer = xrayhttp.HostSegmentNamer{}
	}
	return func(c *gin.Context) {
		r, q := xrayhttp.StartRequest(c.Writer, c.Request, cfg.namer, xrayhttp.WithRecorder(cfg.rec))
		c.Request = r
		if !q.Sampled() {
			c.Next()
			return
		}
		defer func() {
			if p := recover(); p != nil {
				q.SetName(c.FullPath())
				q.Panic(p, int64(max(c.Writer.Size(), 0)))
				panic(p)
			}
		}()
		c.Next()
		q.SetName(c.FullPath())
		for _, e := range c.Errors {
			q.AddError(e.Err)
		}
		q.End(c.Writer.Status(), int64(max(c.Writer.Size(), 0)))
	}
}
