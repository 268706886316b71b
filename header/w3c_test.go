package header

import (
	"net/http"
	"testing"
)

func TestFromTraceParent(t *testing.T) {
	h, ok := FromTraceParent("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01", "ot=p:8,aws=x")
	if !ok {
		t.Fatal("valid traceparent rejected")
	}
	if h.TraceID != "1-5759e988-bd862e3fe1be46a994272793" || h.ParentID != "53995c3f42cd8ad8" ||
		h.SamplingDecision != Sampled || h.TraceState != "ot=p:8,aws=x" {
		t.Errorf("got %+v", h)
	}
	if got := h.TraceParent(); got != "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01" {
		t.Errorf("round trip = %q", got)
	}
	if h.String() != "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1" {
		t.Errorf("String = %q", h.String())
	}
	h, ok = FromTraceParent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-02-future", "")
	if !ok || h.SamplingDecision != NotSampled {
		t.Errorf("future version: %+v %v", h, ok)
	}
	for _, bad := range []string{
		"",
		"00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-0",
		"00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01-extra",
		"ff-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01",
		"00-00000000000000000000000000000000-53995c3f42cd8ad8-01",
		"00-5759e988bd862e3fe1be46a994272793-0000000000000000-01",
		"00-5759E988BD862E3FE1BE46A994272793-53995c3f42cd8ad8-01",
		"00_5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01",
	} {
		if h, ok := FromTraceParent(bad, ""); ok || h != nil {
			t.Errorf("FromTraceParent(%q) accepted", bad)
		}
	}
}

func TestExtractInject(t *testing.T) {
	in := http.Header{}
	in.Set(TraceParentName, "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00")
	in.Set(TraceStateName, "vendor=1")
	h := Extract(in.Get)
	if h == nil || h.TraceID != "1-5759e988-bd862e3fe1be46a994272793" || h.SamplingDecision != NotSampled {
		t.Fatalf("Extract = %+v", h)
	}
	in.Set(Name, "Root=1-11111111-222222222222222222222222;Parent=3333333333333333;Sampled=1")
	if h := Extract(in.Get); h.TraceID != "1-11111111-222222222222222222222222" {
		t.Errorf("X-Amzn-Trace-Id not first: %+v", h)
	}
	if h := Extract(in.Get, TraceContext, AmznTraceID); h.TraceID != "1-5759e988-bd862e3fe1be46a994272793" {
		t.Errorf("traceparent not first: %+v", h)
	}
	if h := Extract(in.Get, AmznTraceID); h.TraceState != "" {
		t.Errorf("tracestate without traceparent: %+v", h)
	}
	if h := Extract(http.Header{}.Get); h != nil {
		t.Errorf("empty carrier: %+v", h)
	}

	out := http.Header{}
	Inject(out.Set, h, AllFormats)
	if out.Get(Name) != h.String() || out.Get(TraceParentName) != h.TraceParent() || out.Get(TraceStateName) != "vendor=1" {
		t.Errorf("Inject wrote %v", out)
	}
	out = http.Header{}
	Inject(out.Set, &Header{TraceID: "1-11111111-222222222222222222222222", SamplingDecision: Sampled}, AllFormats)
	if out.Get(TraceParentName) != "" || out.Get(Name) == "" {
		t.Errorf("a header without parent: %v", out)
	}
}

func BenchmarkAppendTraceParent(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendTraceParent(buf[:0], "1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8", true)
	}
}
