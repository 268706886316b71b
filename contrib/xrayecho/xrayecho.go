// Package xrayecho traces github.com/labstack/echo/v4 servers: each
// request is an X-Ray segment named by the route echo matched (c.Path(),
// with :param as echo writes it), so that segments group by route.
//
//	e := echo.New()
//	e.Use(xrayecho.Middleware())
//
// The segment is in the request's context, so the handlers' database calls
// nest under it. A handler's error is recorded as the cause and its status
// is the one echo's error handler will answer (an *echo.HTTPError's code,
// 500 for other errors); 4xx set error, 429 throttle, 5xx fault. A panic
// is recorded as a fault and goes on to echo's Recover middleware.
package xrayecho

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
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

// Middleware returns echo middleware that traces each request.
func Middleware(opts ...Option) echo.MiddlewareFunc {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if cfg.namer == nil {
		cfg.namer = xrayhttp.HostSegmentNamer{}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			r, q := xrayhttp.StartRequest(c.Response(), c.Request(), cfg.namer, xrayhttp.WithRecorder(cfg.rec))
			c.SetRequest(r)
			if !q.Sampled() {
				return next(c)
			}
			defer func() {
				if p := recover(); p != nil {
					q.SetName(route(c))
					q.Panic(p, c.Response().Size)
					panic(p)
				}
			}()
			err = next(c)
			q.SetName(route(c))
			status := c.Response().Status
			if err != nil {
				q.AddError(err)
				if !c.Response().Committed {
					// Echo's error handler answers after the middleware.
					status = http.StatusInternalServerError
					var he *echo.HTTPError
					if errors.As(err, &he) {
						status = he.Code
					}
				}
			}
			q.End(status, c.Response().Size)
			return err
		}
	}
}

// route is the matched route's path; echo reports requests no route
// matched with its own catch-all paths, which name nothing.
func route(c echo.Context) string {
	p := c.Path()
	if p == "" || p == "/*" {
		return ""
	}
	return p
}
