package xraylambda_test

import (
	"context"
	"testing"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraylambda"
	"github.com/openxray/xray/xraytest"
)

const (
	root   = "1-5759e988-bd862e3fe1be46a994272793"
	parent = "53995c3f42cd8ad8"
)

// One invocation: the facade is never sent, each subsegment is sent on its
// own, with the facade as parent, and Flush delivers them.
func TestFacade(t *testing.T) {
	t.Setenv("LAMBDA_TASK_ROOT", "/var/task")
	t.Setenv(xraylambda.TraceHeaderEnv, "Root="+root+";Parent="+parent+";Sampled=1")
	d := xraytest.NewDaemon(t)
	// Never: the facade's decision comes from the header, not the rules.
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Never})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	if !xraylambda.IsLambda() {
		t.Error("LAMBDA_TASK_ROOT not detected")
	}

	ctx, facade := xraylambda.Begin(context.Background(), xraylambda.WithRecorder(r))
	if facade == nil || !facade.Sampled() || facade.ID() != parent || xray.TraceID(ctx) != root {
		t.Fatalf("facade %v", facade)
	}
	for _, name := range []string{"load", "store"} {
		cctx, sub := xray.BeginSubsegment(ctx, name)
		_, inner := xray.BeginSubsegment(cctx, name+"-query")
		inner.Close(nil)
		sub.Close(nil)
	}
	facade.Close(nil)
	if err := xray.Flush(context.Background()); err != nil { // the default recorder: nothing to do
		t.Fatal(err)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	docs := d.WaitDocuments(t, 2, 5*time.Second)
	time.Sleep(20 * time.Millisecond)
	docs = d.Documents()
	if len(docs) != 2 {
		t.Fatalf("%d documents, want the two subsegments", len(docs))
	}
	for i, doc := range docs {
		if err := xraytest.Validate(doc); err != nil {
			t.Error(err)
		}
		if doc.String("type") != "subsegment" || doc.String("parent_id") != parent || doc.String("trace_id") != root {
			t.Errorf("document %d: %v", i, doc)
		}
		if subs := doc.Subsegments(); len(subs) != 1 {
			t.Errorf("document %d: %d nested subsegments", i, len(subs))
		}
		if doc.ID() == parent {
			t.Error("the facade was sent")
		}
	}
}

func TestUnsampledAndMissing(t *testing.T) {
	d := xraytest.NewDaemon(t)
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())

	// The header from aws-lambda-go's context wins over the variable.
	t.Setenv(xraylambda.TraceHeaderEnv, "Root="+root+";Parent="+parent+";Sampled=1")
	//lint:ignore SA1029 the key aws-lambda-go uses
	lctx := context.WithValue(context.Background(), "x-amzn-trace-id", "Root="+root+";Parent="+parent+";Sampled=0") //nolint:staticcheck
	ctx, facade := xraylambda.Begin(lctx, xraylambda.WithRecorder(r))
	if facade == nil || facade.Sampled() {
		t.Fatalf("Sampled=0 facade: %v", facade)
	}
	_, sub := xray.BeginSubsegment(ctx, "work")
	sub.Close(nil)
	if h := facade.DownstreamHeader(); h.TraceID != root || h.SamplingDecision != "Sampled=0" {
		t.Errorf("downstream header %v", h)
	}

	t.Setenv(xraylambda.TraceHeaderEnv, "")
	if ctx, f := xraylambda.Begin(context.Background(), xraylambda.WithRecorder(r)); f != nil || ctx == nil {
		t.Errorf("no header: facade %v", f)
	}
	r.Flush(context.Background())
	time.Sleep(20 * time.Millisecond)
	if n := len(d.Datagrams()); n != 0 {
		t.Errorf("%d datagrams from unsampled or missing traces", n)
	}
}

func TestIsSampled(t *testing.T) {
	for _, c := range []struct {
		attrs map[string]string
		want  bool
	}{
		{map[string]string{"AWSTraceHeader": "Root=" + root + ";Parent=" + parent + ";Sampled=1"}, true},
		{map[string]string{"AWSTraceHeader": "Root=" + root + ";Parent=" + parent + ";Sampled=0"}, false},
		{map[string]string{"AWSTraceHeader": "garbage"}, false},
		{map[string]string{"SentTimestamp": "1"}, false},
		{nil, false},
	} {
		if got := xraylambda.IsSampled(c.attrs); got != c.want {
			t.Errorf("IsSampled(%v) = %v", c.attrs, got)
		}
	}
}
