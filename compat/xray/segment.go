package xray

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/openxray/xray"
	"github.com/openxray/xray/compat/header"
	"github.com/openxray/xray/compat/strategy/sampling"
	coreheader "github.com/openxray/xray/header"
	coresampling "github.com/openxray/xray/sampling"
)

// Segment is a segment or subsegment, as a view of the core's
// *xray.Segment (Core returns it). Its exported fields are the ones that
// never change once the segment has begun; the others of aws-xray-sdk-go's
// Segment (Name, Namespace, Fault, HTTP, SQL, ...) are not here, because
// writing to a copy would compile and record nothing: `xray migrate`
// rewrites their uses into method calls of the core.
//
// GetSegment returns a new view each time, so compare segments by ID, not
// by pointer. The embedded mutex is the view's own: the core locks what it
// records itself.
type Segment struct {
	sync.Mutex

	// TraceID is the trace's ID (1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx).
	TraceID string
	// ID is the segment's or subsegment's ID.
	ID string
	// ParentID is the parent's ID: the subsegment's parent, or the
	// upstream caller of a segment that continued a trace header.
	ParentID string
	// Sampled reports whether the segment is recorded.
	Sampled bool
	// RequestWasTraced reports whether the segment continued a trace
	// header that named a parent.
	RequestWasTraced bool
	// ParentSegment is the segment at the root of the tree (the segment
	// itself for a segment).
	ParentSegment *Segment

	core *xray.Segment
	doc  []byte // the document, for segments an Emitter receives
}

// wrap returns the view of s, nil for nil.
func wrap(s *xray.Segment) *Segment {
	if s == nil {
		return nil
	}
	seg := &Segment{TraceID: s.TraceID(), ID: s.ID(), ParentID: s.ParentID(), Sampled: s.Sampled(), core: s}
	if root := s.Segment(); root != nil && root != s {
		seg.ParentSegment = wrap(root)
		seg.RequestWasTraced = seg.ParentSegment.RequestWasTraced
	} else {
		seg.ParentSegment = seg
		seg.RequestWasTraced = seg.ParentID != ""
	}
	return seg
}

// Core returns the core's segment behind the view, for its full API
// (SetName, SetNamespace, SetSQL, SetHTTPRequest, AddFaultFlag, ...).
func (seg *Segment) Core() *xray.Segment {
	if seg == nil {
		return nil
	}
	return seg.core
}

// AddAnnotation adds an indexed key-value pair.
func (seg *Segment) AddAnnotation(key string, value interface{}) error {
	return seg.Core().AddAnnotation(key, value)
}

// AddMetadata adds metadata to the default namespace.
func (seg *Segment) AddMetadata(key string, value interface{}) error {
	return seg.Core().AddMetadata(key, value)
}

// AddMetadataToNamespace adds metadata to a namespace.
func (seg *Segment) AddMetadataToNamespace(namespace string, key string, value interface{}) error {
	return seg.Core().AddMetadataToNamespace(namespace, key, value)
}

// AddError records err as the cause and sets the fault flag.
func (seg *Segment) AddError(err error) error { return seg.Core().AddError(err) }

// AddRuleName is accepted for compatibility: the core records the rule of
// its own sampling decision.
func (seg *Segment) AddRuleName(sd *sampling.Decision) {}

// Close ends the segment (recording err, when not nil) and sends it.
func (seg *Segment) Close(err error) { seg.Core().Close(err) }

// CloseAndStream ends a subsegment and sends it at once, on its own.
func (seg *Segment) CloseAndStream(err error) { seg.Core().CloseAndStream(err) }

// DownstreamHeader returns the header to send with a call made inside the
// segment.
func (seg *Segment) DownstreamHeader() *header.Header {
	h := seg.Core().DownstreamHeader()
	if h == nil {
		return nil
	}
	return header.FromString(h.String())
}

// RemoveSubsegment drops remove, which has not been sent, from its
// segment: it will not be sent.
func (seg *Segment) RemoveSubsegment(remove *Segment) bool {
	if remove == nil || remove.core == nil {
		return false
	}
	remove.core.Discard()
	return true
}

// GetConfiguration returns the configuration of the recorder of a context
// made by ContextWithConfig, or nil.
func (seg *Segment) GetConfiguration() *Config { return nil }

// MarshalJSON returns the segment's document for a segment an Emitter
// receives, and its identity fields otherwise.
func (seg *Segment) MarshalJSON() ([]byte, error) {
	if seg.doc != nil {
		return seg.doc, nil
	}
	return json.Marshal(struct {
		TraceID  string `json:"trace_id,omitempty"`
		ID       string `json:"id"`
		ParentID string `json:"parent_id,omitempty"`
	}{seg.TraceID, seg.ID, seg.ParentID})
}

// BeginSegment begins a segment, sampled by the recorder's strategy.
func BeginSegment(ctx context.Context, name string) (context.Context, *Segment) {
	c, s := recorderOf(ctx).BeginSegment(ctx, name)
	return c, wrap(s)
}

// BeginSegmentWithSampling begins a segment for an incoming request r,
// continuing traceHeader; the sampling rules see r's host, method and path.
func BeginSegmentWithSampling(ctx context.Context, name string, r *http.Request, traceHeader *header.Header) (context.Context, *Segment) {
	opts := []xray.SegmentOption{xray.WithTraceHeader(coreHeader(traceHeader))}
	if r != nil {
		opts = append(opts, xray.WithSamplingRequest(coresampling.Request{Host: r.Host, Method: r.Method, URL: r.URL.Path}))
	}
	c, s := recorderOf(ctx).BeginSegment(ctx, name, opts...)
	return c, wrap(s)
}

// NewSegmentFromHeader is BeginSegmentWithSampling.
func NewSegmentFromHeader(ctx context.Context, name string, r *http.Request, h *header.Header) (context.Context, *Segment) {
	return BeginSegmentWithSampling(ctx, name, r, h)
}

// BeginFacadeSegment begins a facade: a stand-in for a segment another
// party records (AWS Lambda's), whose subsegments are sent on their own.
// name is not used: a facade is never sent.
func BeginFacadeSegment(ctx context.Context, name string, h *header.Header) (context.Context, *Segment) {
	c, s := recorderOf(ctx).BeginFacadeSegment(ctx, coreHeader(h))
	return c, wrap(s)
}

// BeginSubsegment begins a subsegment of the segment in ctx (in AWS Lambda,
// of the invocation's facade when ctx has none).
func BeginSubsegment(ctx context.Context, name string) (context.Context, *Segment) {
	c, s := recorderOf(ctx).BeginSubsegment(ctx, name)
	return c, wrap(s)
}

// BeginSubsegmentWithoutSampling is BeginSubsegment: the subsegment follows
// its segment's decision.
func BeginSubsegmentWithoutSampling(ctx context.Context, name string) (context.Context, *Segment) {
	return BeginSubsegment(ctx, name)
}

// GetSegment returns a view of the segment or subsegment in ctx, or nil.
func GetSegment(ctx context.Context) *Segment { return wrap(xray.GetSegment(ctx)) }

// coreHeader converts a header of this tree to the core's.
func coreHeader(h *header.Header) *coreheader.Header {
	if h == nil {
		return nil
	}
	return coreheader.FromString(h.String())
}
