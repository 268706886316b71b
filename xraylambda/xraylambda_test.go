package xraylambda_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/header"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xrayhttp"
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
	docs := d.Settle(t, 5*time.Second)
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
	if n := len(d.Settle(t, 5*time.Second)); n != 0 {
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

// TestNoSetup runs a handler as AWS Lambda runs it, in a process of its own
// whose environment says Lambda and names the daemon: the handler calls
// xray.BeginSubsegment and an instrumented HTTP client without any setup
// (no Configure, no Begin, no Flush), and its subsegments arrive under the
// invocation's parent. With Sampled=0 nothing is sent and the decision
// still goes downstream.
func TestNoSetup(t *testing.T) {
	if os.Getenv("XRAYLAMBDA_CHILD") != "" {
		return
	}
	t.Parallel()
	var got []string // trace headers seen downstream
	var mu sync.Mutex
	downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get(header.Name))
		mu.Unlock()
	}))
	defer downstream.Close()
	for _, tc := range []struct {
		name, sampled, via string
	}{
		{"context", "1", "context"}, // aws-lambda-go's context value
		{"env", "1", "env"},         // _X_AMZN_TRACE_ID only
		{"unsampled", "0", "context"},
	} {
		d := xraytest.NewDaemon(t)
		h := "Root=" + root + ";Parent=" + parent + ";Sampled=" + tc.sampled
		cmd := exec.Command(os.Args[0], "-test.run=^TestNoSetupChild$")
		cmd.Env = append(os.Environ(), "XRAYLAMBDA_CHILD="+tc.via, "LAMBDA_TASK_ROOT=/var/task",
			"AWS_XRAY_DAEMON_ADDRESS="+d.Addr(), "CHILD_HEADER="+h, "CHILD_URL="+downstream.URL)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: handler process: %v\n%s", tc.name, err, out)
		}
		docs := d.Settle(t, 5*time.Second)
		if tc.sampled == "0" {
			if len(docs) != 0 {
				t.Errorf("%s: %d documents sent for an unsampled invocation", tc.name, len(docs))
			}
			continue
		}
		names := map[string]bool{}
		for _, doc := range docs {
			if doc.String("trace_id") != root || doc.String("parent_id") != parent || doc.String("type") != "subsegment" {
				t.Errorf("%s: not under the invocation: %v", tc.name, doc)
			}
			names[doc.Name()] = true
		}
		if len(docs) != 2 || !names["handler-work"] || !names["127.0.0.1"] {
			t.Errorf("%s: want handler-work and the HTTP call, got %v", tc.name, docs)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("downstream saw %d calls", len(got))
	}
	for i, v := range got {
		h := header.FromString(v)
		want := header.Sampled
		if i == 2 {
			want = header.NotSampled
		}
		if h.TraceID != root || h.SamplingDecision != want {
			t.Errorf("call %d: downstream header %q", i, v)
		}
	}
}

// TestNoSetupChild is the handler process of TestNoSetup.
func TestNoSetupChild(t *testing.T) {
	via := os.Getenv("XRAYLAMBDA_CHILD")
	if via == "" {
		t.Skip("run by TestNoSetup")
	}
	ctx := context.Background()
	if via == "context" {
		//lint:ignore SA1029 the key aws-lambda-go uses
		ctx = context.WithValue(ctx, xray.LambdaTraceHeaderKey, os.Getenv("CHILD_HEADER")) //nolint:staticcheck
	} else {
		os.Setenv(xraylambda.TraceHeaderEnv, os.Getenv("CHILD_HEADER"))
	}
	// The handler: no setup of any kind.
	_, sub := xray.BeginSubsegment(ctx, "handler-work")
	sub.AddAnnotation("step", 1)
	sub.Close(nil)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, os.Getenv("CHILD_URL"), nil)
	resp, err := xrayhttp.Client(nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// Lambda passed no trace header, but the event came from an
// OpenTelemetry-instrumented caller: the function's segment continues the
// caller's W3C trace, keeps its tracestate, and passes it on.
func TestTraceParentFromEvent(t *testing.T) {
	t.Setenv("LAMBDA_TASK_ROOT", "/var/task")
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "orders-fn")
	t.Setenv(xraylambda.TraceHeaderEnv, "")
	d := xraytest.NewDaemon(t)
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Never})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	event := map[string]string{ // an API Gateway event's headers
		"Traceparent": "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01",
		"tracestate":  "otel=abc",
	}
	ctx, seg := xraylambda.Begin(context.Background(), xraylambda.WithRecorder(r), xraylambda.WithHeaders(event))
	if seg == nil || !seg.Sampled() || seg.IsSubsegment() || seg.TraceState() != "otel=abc" {
		t.Fatalf("segment %v", seg)
	}
	_, sub := xray.BeginSubsegment(ctx, "work")
	if tp := string(sub.AppendTraceParent(nil)); tp != "00-5759e988bd862e3fe1be46a994272793-"+sub.ID()+"-01" {
		t.Errorf("traceparent passed on: %s", tp)
	}
	sub.Close(nil)
	seg.Close(nil)
	r.Flush(context.Background())
	doc := d.WaitTrace(t, root, 5*time.Second)
	if doc.Name() != "orders-fn" || doc.String("parent_id") != parent || len(doc.Subsegments()) != 1 {
		t.Errorf("segment %v", doc)
	}

	// With Lambda's header, the facade wins over the event's.
	t.Setenv(xraylambda.TraceHeaderEnv, "Root=1-11111111-222222222222222222222222;Parent=3333333333333333;Sampled=1")
	_, facade := xraylambda.Begin(context.Background(), xraylambda.WithRecorder(r), xraylambda.WithHeaders(event))
	if facade.TraceID() != "1-11111111-222222222222222222222222" {
		t.Errorf("facade trace %s", facade.TraceID())
	}
	facade.Close(nil) // does nothing
}
