package xray

import (
	"context"

	"github.com/openxray/xray/header"
	"github.com/openxray/xray/internal/tracehook"
	"github.com/openxray/xray/sampling"
)

// The integrations re-exported by this package (SQLContext, Handler,
// Client) record through these hooks.
func init() {
	tracehook.BeginSegment = hookBeginSegment
	tracehook.BeginSubsegment = hookBeginSubsegment
	tracehook.FromContext = func(ctx context.Context) tracehook.Span {
		if s := GetSegment(ctx); s != nil {
			return s
		}
		return nil
	}
	tracehook.ContextMissing = func(what string) { Default().contextMissing(what) }
}

func hookBeginSegment(ctx context.Context, name string, h *header.Header, req sampling.Request) (context.Context, tracehook.Span) {
	c, s := Default().BeginSegment(ctx, name, WithTraceHeader(h), WithSamplingRequest(req))
	if s == nil {
		return c, nil
	}
	return c, s
}

func hookBeginSubsegment(ctx context.Context, parent tracehook.Span, name, namespace string) (context.Context, tracehook.Span, bool) {
	var p *Segment
	if parent != nil {
		p, _ = parent.(*Segment)
	}
	if p == nil {
		p = GetSegment(ctx)
	}
	if p == nil {
		return ctx, nil, false
	}
	c, s := p.beginSubsegment(ctx, name, namespace)
	if s == nil {
		return ctx, nil, true
	}
	return c, s, true
}

// Compile-time check: a *Segment is what the integrations record into.
var _ tracehook.Span = (*Segment)(nil)
