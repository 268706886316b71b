package xray

import (
	"context"
)

// segmentKey is the context key of the current segment or subsegment.
type segmentKey struct{}

// entityCtx is a context that carries a segment. The segment is stored in
// the context value itself, so beginning a (sub)segment costs one
// allocation for both.
type entityCtx struct {
	context.Context
	seg Segment
}

func (c *entityCtx) Value(key any) any {
	if _, ok := key.(segmentKey); ok {
		return &c.seg
	}
	return c.Context.Value(key)
}

func (c *entityCtx) String() string {
	return "xray.entityCtx(" + c.seg.ID() + ")"
}

// sampledCtx is an entityCtx with room for the recorded state, so a sampled
// (sub)segment is one allocation too.
type sampledCtx struct {
	entityCtx
	st state
}

// GetSegment returns the segment or subsegment in ctx, or nil.
func GetSegment(ctx context.Context) *Segment {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(segmentKey{}).(*Segment)
	return s
}

// ContextWithSegment returns a copy of ctx that carries seg, so work started
// elsewhere (a goroutine, a callback) can record into it.
func ContextWithSegment(ctx context.Context, seg *Segment) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithValue(ctx, segmentKey{}, seg)
}

// DetachContext returns a context that carries ctx's segment but is not
// cancelled when ctx is, for work that outlives a request.
func DetachContext(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return context.WithValue(context.WithoutCancel(ctx), segmentKey{}, GetSegment(ctx))
}

// IsSampled reports whether ctx carries a segment that is recorded.
func IsSampled(ctx context.Context) bool {
	return GetSegment(ctx).active()
}

// TraceID returns the trace ID of the segment in ctx, or "" if there is none.
func TraceID(ctx context.Context) string {
	return GetSegment(ctx).TraceID()
}
