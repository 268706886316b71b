// Package xraychi traces github.com/go-chi/chi/v5 routers: each request
// is an X-Ray segment named by the route pattern chi matched, written with
// :param for {param} since X-Ray names take no braces ("/users/{id}" →
// "/users/:id"), so that segments group by route rather than by URL.
//
//	r := chi.NewRouter()
//	r.Use(xraychi.Middleware())
//
// The segment is in the request's context, so database calls made by the
// handlers nest under it. The response's status sets the flags (4xx
// error, 429 throttle, 5xx fault); a panic is recorded as a fault and goes
// on to chi's middleware.Recoverer, or to net/http.
package xraychi

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
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

// Middleware returns chi middleware that traces each request.
func Middleware(opts ...Option) func(http.Handler) http.Handler {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if cfg.namer == nil {
		cfg.namer = xrayhttp.HostSegmentNamer{}
	}
	return func(next http.Handler) http.Handler {
		return xrayhttp.Handler(cfg.namer, next, xrayhttp.WithRouteName(routePattern), xrayhttp.WithRecorder(cfg.rec))
	}
}

// routePattern is the pattern chi matched, known once the router has
// routed the request (the route context is shared down the chain).
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		return Pattern(rc.RoutePattern())
	}
	return ""
}

// Pattern writes a chi route pattern as a segment name: {id} and
// {id:[0-9]+} become :id, and a trailing /* stays.
func Pattern(p string) string {
	if !strings.Contains(p, "{") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '{' {
			b.WriteByte(p[i])
			continue
		}
		depth, end := 0, len(p)
		for j := i; j < len(p); j++ {
			if p[j] == '{' {
				depth++
			} else if p[j] == '}' {
				if depth--; depth == 0 {
					end = j
					break
				}
			}
		}
		name, _, _ := strings.Cut(p[i+1:end], ":")
		b.WriteByte(':')
		b.WriteString(name)
		i = end
	}
	return b.String()
}
