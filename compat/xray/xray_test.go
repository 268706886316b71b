package xray_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/openxray/xray/compat/header"
	"github.com/openxray/xray/compat/strategy/ctxmissing"
	"github.com/openxray/xray/compat/strategy/exception"
	"github.com/openxray/xray/compat/strategy/sampling"
	"github.com/openxray/xray/compat/xray"
)

// collector is an Emitter of this tree: it keeps what each segment
// marshals to.
type collector struct {
	mu   sync.Mutex
	docs []map[string]any
}

func (c *collector) Emit(seg *xray.Segment) {
	b, err := json.Marshal(seg)
	if err != nil {
		panic(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	c.mu.Lock()
	c.docs = append(c.docs, m)
	c.mu.Unlock()
}

func (c *collector) RefreshEmitterWithAddress(*net.UDPAddr) {}

func all(t *testing.T) sampling.Strategy {
	t.Helper()
	s, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version": 2, "default": {"fixed_target": 0, "rate": 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A context with its own configuration records through its own recorder:
// the Emitter sees whole documents, Segment's identity fields are those of
// the core's segment, and strategies of this tree apply.
func TestContextWithConfig(t *testing.T) {
	t.Parallel()
	var c collector
	ctx, err := xray.ContextWithConfig(context.Background(), xray.Config{
		Emitter:                     &c,
		SamplingStrategy:            all(t),
		ContextMissingStrategy:      ctxmissing.NewDefaultIgnoreErrorStrategy(),
		ExceptionFormattingStrategy: &exception.DefaultFormattingStrategy{FrameCount: 3},
		LogLevel:                    "error",
	})
	if err != nil {
		t.Fatal(err)
	}
	if xray.GetRecorder(ctx) == nil {
		t.Fatal("GetRecorder: nil")
	}
	up := &header.Header{TraceID: "1-5759e988-bd862e3fe1be46a994272793", ParentID: "53995c3f42cd8ad8", SamplingDecision: header.Sampled}
	req := httptest.NewRequest(http.MethodGet, "http://shop.example/cart", nil)
	ctx, seg := xray.BeginSegmentWithSampling(ctx, "shop", req, up)
	if seg.TraceID != up.TraceID || seg.ParentID != up.ParentID || !seg.Sampled || !seg.RequestWasTraced || seg.ParentSegment != seg {
		t.Errorf("segment view %+v", seg)
	}
	if !xray.RequestWasTraced(ctx) || xray.TraceID(ctx) != up.TraceID {
		t.Error("RequestWasTraced / TraceID")
	}
	if h := seg.DownstreamHeader(); h.TraceID != up.TraceID || h.ParentID != seg.ID || h.SamplingDecision != header.Sampled {
		t.Errorf("downstream header %v", h)
	}
	sctx, sub := xray.BeginSubsegment(ctx, "cart")
	if sub.ParentID != seg.ID || sub.ParentSegment.ID != seg.ID || xray.GetSegment(sctx).ID != sub.ID {
		t.Errorf("subsegment view %+v", sub)
	}
	sub.AddAnnotation("items", 3)
	sub.Close(nil)
	err = xray.Capture(ctx, "charge", func(context.Context) error { return errors.New("card declined") })
	if err == nil {
		t.Error("Capture lost the error")
	}
	seg.Close(nil)

	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.docs) != 1 {
		t.Fatalf("%d documents", len(c.docs))
	}
	doc := c.docs[0]
	subs, _ := doc["subsegments"].([]any)
	if doc["name"] != "shop" || doc["trace_id"] != up.TraceID || doc["parent_id"] != up.ParentID || len(subs) != 2 {
		t.Errorf("document %v", doc)
	}
}

// Without a segment, calls go on and the context-missing strategy is told.
func TestContextMissing(t *testing.T) {
	t.Parallel()
	var c collector
	ctx, err := xray.ContextWithConfig(context.Background(), xray.Config{
		Emitter: &c, SamplingStrategy: all(t), ContextMissingStrategy: ctxmissing.NewDefaultRuntimeErrorStrategy(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("RUNTIME_ERROR strategy did not panic")
		}
	}()
	xray.BeginSubsegment(ctx, "orphan")
}

func TestSegmentIDs(t *testing.T) {
	if id := xray.NewTraceID(); !validTrace(id) {
		t.Errorf("NewTraceID %q", id)
	}
	if id := xray.NewSegmentID(); len(id) != 16 {
		t.Errorf("NewSegmentID %q", id)
	}
}

func validTrace(s string) bool { return len(s) == 35 && s[0] == '1' && s[1] == '-' && s[10] == '-' }
