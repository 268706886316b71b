package xray_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/header"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
)

var (
	traceIDPattern  = regexp.MustCompile(`^1-[0-9a-f]{8}-[0-9a-f]{24}$`)
	entityIDPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// newDaemonRecorder returns a recorder that sends to a real UDP daemon.
func newDaemonRecorder(t *testing.T, cfg xray.Config) (*xray.Recorder, *xraytest.Daemon) {
	t.Helper()
	d := xraytest.NewDaemon(t)
	cfg.DaemonAddr = d.Addr()
	if cfg.SamplingStrategy == nil {
		cfg.SamplingStrategy = sampling.Always
	}
	r, err := xray.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r, d
}

func flush(t *testing.T, r *xray.Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSegmentDocument(t *testing.T) {
	r, d := newDaemonRecorder(t, xray.Config{ServiceVersion: "1.2.3"})
	ctx, seg := r.BeginSegment(context.Background(), "checkout-service")
	seg.SetUser("alice")
	if err := xray.AddAnnotation(ctx, "order_id", "A-17"); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"i": 42, "i8": int8(-8), "u64": uint64(1 << 63), "f32": float32(1.5), "f": 2.25, "b": true} {
		if err := seg.AddAnnotation(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := xray.AddMetadata(ctx, "cart", map[string]any{"items": 3}); err != nil {
		t.Fatal(err)
	}
	if err := xray.AddMetadataToNamespace(ctx, "debug", "path", []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}

	dbCtx, db := xray.BeginSubsegment(ctx, "orders@db.internal")
	db.SetNamespace("remote")
	db.SetSQL(&xray.SQL{URL: "postgresql://db.internal:5432/orders", DatabaseType: "PostgreSQL", SanitizedQuery: "SELECT * FROM orders WHERE id = ?", User: "app"})
	_, inner := xray.BeginSubsegment(dbCtx, "decode")
	inner.Close(nil)
	db.Close(nil)

	err := xray.Capture(ctx, "payment", func(ctx context.Context) error {
		xray.GetSegment(ctx).AddErrorFlag()
		return fmt.Errorf("charging card: %w", &fs.PathError{Op: "open", Path: "/card", Err: fs.ErrNotExist})
	})
	if err == nil {
		t.Fatal("Capture lost the error")
	}
	seg.Close(nil)
	flush(t, r)

	docs := d.WaitDocuments(t, 1, 5*time.Second)
	if len(docs) != 1 {
		t.Fatalf("got %d documents, want 1", len(docs))
	}
	doc := docs[0]
	validate(t, doc)
	if doc.Name() != "checkout-service" || !traceIDPattern.MatchString(doc.String("trace_id")) || !entityIDPattern.MatchString(doc.ID()) {
		t.Errorf("identity: %v", doc)
	}
	if doc.String("user") != "alice" {
		t.Errorf("user = %q", doc.String("user"))
	}
	if st, et := doc["start_time"].(float64), doc["end_time"].(float64); et < st || st < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("times: %v .. %v", st, et)
	}
	xr := doc.Object("aws")["xray"].(map[string]any)
	if xr["sdk"] != "OpenXRay for Go" || xr["sdk_version"] != xray.SDKVersion {
		t.Errorf("aws.xray = %v", xr)
	}
	svc := doc.Object("service")
	if svc["version"] != "1.2.3" || svc["runtime"] != "go" || svc["runtime_version"] != runtime.Version() {
		t.Errorf("service = %v", svc)
	}
	ann := doc.Object("annotations")
	want := map[string]any{"order_id": "A-17", "i": 42.0, "i8": -8.0, "u64": float64(1 << 63), "f32": 1.5, "f": 2.25, "b": true}
	for k, v := range want {
		if ann[k] != v {
			t.Errorf("annotation %s = %#v, want %#v", k, ann[k], v)
		}
	}
	md := doc.Object("metadata")
	if fmt.Sprint(md["default"]) != "map[cart:map[items:3]]" || fmt.Sprint(md["debug"]) != "map[path:[a b]]" {
		t.Errorf("metadata = %v", md)
	}

	subs := doc.Subsegments()
	if len(subs) != 2 {
		t.Fatalf("got %d subsegments, want 2: %v", len(subs), doc)
	}
	dbDoc := subs[0]
	if dbDoc.Name() != "orders@db.internal" || dbDoc.String("namespace") != "remote" {
		t.Errorf("db subsegment: %v", dbDoc)
	}
	if _, ok := dbDoc["trace_id"]; ok {
		t.Error("embedded subsegment carries trace_id")
	}
	sql := dbDoc.Object("sql")
	if sql["sanitized_query"] != "SELECT * FROM orders WHERE id = ?" || sql["database_type"] != "PostgreSQL" || sql["user"] != "app" {
		t.Errorf("sql = %v", sql)
	}
	if in := dbDoc.Subsegments(); len(in) != 1 || in[0].Name() != "decode" {
		t.Errorf("nested subsegment missing: %v", dbDoc)
	}

	pay := subs[1]
	if !pay.Bool("fault") || !pay.Bool("error") {
		t.Errorf("payment flags: %v", pay)
	}
	cause := pay.Object("cause")
	if wd, _ := os.Getwd(); cause["working_directory"] != wd {
		t.Errorf("working_directory = %v", cause["working_directory"])
	}
	exs := cause["exceptions"].([]any)
	if len(exs) != 3 {
		t.Fatalf("got %d exceptions, want 3 (wrapper, PathError, ErrNotExist): %v", len(exs), exs)
	}
	ex0, ex1, ex2 := exs[0].(map[string]any), exs[1].(map[string]any), exs[2].(map[string]any)
	if ex0["type"] != "*fmt.wrapError" || !strings.HasPrefix(ex0["message"].(string), "charging card:") {
		t.Errorf("exception 0: %v", ex0)
	}
	if ex0["cause"] != ex1["id"] || ex1["type"] != "*fs.PathError" || ex1["cause"] != ex2["id"] {
		t.Errorf("exceptions are not linked: %v", exs)
	}
	stack := ex0["stack"].([]any)
	if len(stack) == 0 || !strings.Contains(fmt.Sprint(stack[0]), "TestSegmentDocument") {
		t.Errorf("stack does not start in the test: %v", stack)
	}
}

func TestUnsampledEmitsNothing(t *testing.T) {
	r, d := newDaemonRecorder(t, xray.Config{SamplingStrategy: sampling.Never})
	ctx, seg := r.BeginSegment(context.Background(), "quiet")
	if xray.IsSampled(ctx) || seg == nil || seg.Sampled() {
		t.Fatal("segment must exist and be unsampled")
	}
	if !traceIDPattern.MatchString(xray.TraceID(ctx)) {
		t.Fatalf("unsampled segment has no valid trace id: %q", xray.TraceID(ctx))
	}
	h := seg.DownstreamHeader()
	if h.SamplingDecision != header.NotSampled || h.TraceID != xray.TraceID(ctx) || !entityIDPattern.MatchString(h.ParentID) {
		t.Fatalf("downstream header = %v", h)
	}
	sctx, sub := xray.BeginSubsegment(ctx, "child")
	if sub != nil || sctx != ctx {
		t.Fatal("subsegment of an unsampled segment must be nil and free")
	}
	xray.AddAnnotation(ctx, "k", "v")
	sub.Close(errors.New("ignored"))
	seg.Close(errors.New("ignored"))

	// A sampled segment afterwards: when it arrives, the unsampled one
	// would have arrived before it (loopback keeps order).
	r2, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always})
	if err != nil {
		t.Fatal(err)
	}
	_, marker := r2.BeginSegment(context.Background(), "marker")
	marker.Close(nil)
	flush(t, r)
	flush(t, r2)
	docs := d.WaitDocuments(t, 1, 5*time.Second)
	if len(docs) != 1 || docs[0].Name() != "marker" {
		t.Fatalf("unsampled segment was emitted: %v", docs)
	}
	r2.Close(context.Background())
}

func TestTraceHeader(t *testing.T) {
	r, _ := xraytest.NewRecorder(xray.Config{SamplingStrategy: sampling.Never})
	const root, parent = "1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8"

	ctx, seg := r.BeginSegment(context.Background(), "svc", xray.WithTraceHeader(header.FromString("Root="+root+";Parent="+parent+";Sampled=1;Lineage=a:1")))
	if !seg.Sampled() || xray.TraceID(ctx) != root {
		t.Fatalf("Sampled=1 not honoured: %v %v", seg.Sampled(), xray.TraceID(ctx))
	}
	_, sub := xray.BeginSubsegment(ctx, "call")
	h := sub.DownstreamHeader()
	if got, want := h.String(), "Root="+root+";Parent="+sub.ID()+";Sampled=1;Lineage=a:1"; got != want {
		t.Errorf("downstream header = %q, want %q", got, want)
	}
	if got := string(sub.AppendDownstreamHeader(nil)); got != h.String() {
		t.Errorf("AppendDownstreamHeader = %q, want %q", got, h.String())
	}
	if got := string(seg.AppendDownstreamHeader(nil)); got != seg.DownstreamHeader().String() {
		t.Errorf("unsampled AppendDownstreamHeader = %q, want %q", got, seg.DownstreamHeader().String())
	}

	_, seg = r.BeginSegment(context.Background(), "svc", xray.WithTraceHeader(header.FromString("Root="+root+";Sampled=?")))
	if seg.Sampled() {
		t.Error("Sampled=? must be decided by the strategy (Never)")
	}
	r2, _ := xraytest.NewRecorder()
	_, seg = r2.BeginSegment(context.Background(), "svc", xray.WithTraceHeader(header.FromString("Root="+root+";Sampled=0")))
	if seg.Sampled() {
		t.Error("Sampled=0 not honoured")
	}
	_, seg = r2.BeginSegment(context.Background(), "svc", xray.WithTraceHeader(header.FromString("garbage;;Root=1-zz")))
	if !seg.Sampled() || seg.TraceID() == root || !traceIDPattern.MatchString(seg.TraceID()) {
		t.Error("malformed header must be treated as absent")
	}
}

func TestSegmentParentFromHeader(t *testing.T) {
	r, e := xraytest.NewRecorder()
	const root, parent = "1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8"
	_, seg := r.BeginSegment(context.Background(), "svc", xray.WithTraceHeader(header.FromString("Root="+root+";Parent="+parent)))
	seg.Close(nil)
	doc := e.Documents()[0]
	if doc.String("trace_id") != root || doc.String("parent_id") != parent {
		t.Fatalf("document = %v", doc)
	}
	validate(t, doc)
}

func TestSamplingRuleMatchedByRequest(t *testing.T) {
	s, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version": 2,
	  "rules": [{"name": "api", "host": "*", "http_method": "GET", "url_path": "/api/*", "fixed_target": 0, "rate": 1}],
	  "default": {"fixed_target": 0, "rate": 0}}`))
	if err != nil {
		t.Fatal(err)
	}
	r, e := xraytest.NewRecorder(xray.Config{SamplingStrategy: s})
	_, seg := r.BeginSegment(context.Background(), "svc", xray.WithSamplingRequest(sampling.Request{Host: "h", Method: "GET", URL: "/api/x"}))
	seg.Close(nil)
	_, seg = r.BeginSegment(context.Background(), "svc", xray.WithSamplingRequest(sampling.Request{Host: "h", Method: "GET", URL: "/other"}))
	seg.Close(nil)
	docs := e.Documents()
	if len(docs) != 1 {
		t.Fatalf("got %d documents, want 1", len(docs))
	}
	if got := docs[0].Object("aws")["xray"].(map[string]any)["sampling_rule_name"]; got != "api" {
		t.Errorf("sampling_rule_name = %v", got)
	}
}

func TestLargeTreeArrivesComplete(t *testing.T) {
	r, d := newDaemonRecorder(t, xray.Config{StreamingThreshold: -1})
	ctx, seg := r.BeginSegment(context.Background(), "big")
	payload := strings.Repeat("x", 1024)
	for i := range 300 {
		_, sub := xray.BeginSubsegment(ctx, fmt.Sprintf("sub-%03d", i))
		sub.AddMetadata("payload", payload)
		sub.Close(nil)
	}
	seg.Close(nil)
	flush(t, r)

	// Every datagram fits; together they hold all 300 subsegments once.
	d.WaitTrace(t, seg.TraceID(), 5*time.Second)
	dgs := d.Datagrams()
	var docs []xraytest.Document
	for _, dg := range dgs {
		if dg.Size > 65507 {
			t.Errorf("datagram of %d bytes", dg.Size)
		}
		validate(t, dg.Doc)
		docs = append(docs, dg.Doc)
	}
	if len(docs) < 2 {
		t.Fatalf("a 300 KB tree came in %d datagram(s)", len(docs))
	}
	segs, orphans := xraytest.Assemble(docs)
	if len(segs) != 1 || len(orphans) != 0 {
		t.Fatalf("assembled %d segments and %d orphans", len(segs), len(orphans))
	}
	seen := map[string]bool{}
	segs[0].Walk(func(doc, _ xraytest.Document) { seen[doc.Name()] = true })
	for i := range 300 {
		if !seen[fmt.Sprintf("sub-%03d", i)] {
			t.Fatalf("sub-%03d is missing", i)
		}
	}
}

func TestOversizedSubsegmentIsTruncated(t *testing.T) {
	r, d := newDaemonRecorder(t, xray.Config{})
	ctx, seg := r.BeginSegment(context.Background(), "seg")
	_, sub := xray.BeginSubsegment(ctx, "huge")
	sub.AddMetadata("blob", strings.Repeat("y", 100_000))
	sub.SetSQL(&xray.SQL{SanitizedQuery: "SELECT " + strings.Repeat("a, ", 30_000) + "b FROM t"})
	sub.Close(nil)
	seg.Close(nil)
	flush(t, r)
	docs := d.WaitDocuments(t, 2, 5*time.Second)
	segs, orphans := xraytest.Assemble(docs)
	if len(segs) != 1 || len(orphans) != 0 {
		t.Fatalf("segments %d, orphans %d", len(segs), len(orphans))
	}
	huge := segs[0].Find("huge")
	if huge == nil {
		t.Fatal("the oversized subsegment was dropped")
	}
	if huge.Object("metadata")["openxray"].(map[string]any)["truncated"] != true {
		t.Errorf("truncation is not marked: %v", huge.Object("metadata"))
	}
	if q := huge.Object("sql")["sanitized_query"].(string); len(q) > 1100 || !strings.HasSuffix(q, "...") {
		t.Errorf("query not cut: %d bytes", len(q))
	}
}

func TestStreamingSendsAheadOfSegment(t *testing.T) {
	r, d := newDaemonRecorder(t, xray.Config{StreamingThreshold: 5})
	ctx, seg := r.BeginSegment(context.Background(), "job")
	for i := range 12 {
		_, sub := xray.BeginSubsegment(ctx, fmt.Sprintf("step-%d", i))
		sub.Close(nil)
	}
	flush(t, r)
	// Each time more than 5 closed subsegments wait, they all go: after
	// the 6th and the 12th close, 12 documents before the segment's, led
	// by an in-progress version of the segment they point at.
	before := d.WaitDocuments(t, 13, 5*time.Second)
	if first := before[0]; first.ID() != seg.ID() || !first.Bool("in_progress") || first.String("type") != "" {
		t.Errorf("first document: %v", first)
	}
	validate(t, before[0])
	for _, doc := range before[1:] {
		if doc.String("type") != "subsegment" || doc.String("parent_id") != seg.ID() || doc.String("trace_id") != seg.TraceID() {
			t.Errorf("streamed document: %v", doc)
		}
		validate(t, doc)
	}
	seg.Close(nil)
	flush(t, r)
	docs := d.WaitDocuments(t, len(before)+1, 5*time.Second)
	segs, orphans := xraytest.Assemble(docs)
	if len(segs) != 1 || len(orphans) != 0 {
		t.Fatalf("segments %d, orphans %d", len(segs), len(orphans))
	}
	n := 0
	segs[0].Walk(func(doc, _ xraytest.Document) {
		if strings.HasPrefix(doc.Name(), "step-") {
			n++
		}
	})
	if n != 12 {
		t.Errorf("assembled %d steps, want 12 (each exactly once)", n)
	}
}

func TestSubsegmentClosedAfterSegment(t *testing.T) {
	r, e := xraytest.NewRecorder()
	ctx, seg := r.BeginSegment(context.Background(), "seg")
	actx, async := xray.BeginSubsegment(ctx, "async")
	_, grandchild := xray.BeginSubsegment(actx, "grandchild")
	seg.Close(nil)
	grandchild.Close(nil)
	async.Close(nil)
	docs := e.Documents()
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2: %v", len(docs), docs)
	}
	if len(docs[0].Subsegments()) != 0 {
		t.Errorf("open subsegment embedded in the segment: %v", docs[0])
	}
	if docs[1].Name() != "async" || docs[1].String("parent_id") != seg.ID() || docs[1].Find("grandchild") == nil {
		t.Errorf("late subsegment: %v", docs[1])
	}
}

func TestCloseAndStream(t *testing.T) {
	r, e := xraytest.NewRecorder()
	ctx, seg := r.BeginSegment(context.Background(), "seg")
	_, sub := xray.BeginSubsegment(ctx, "now")
	sub.CloseAndStream(nil)
	// The segment goes first, in progress, then the subsegment.
	if docs := e.Documents(); len(docs) != 2 || !docs[0].Bool("in_progress") || docs[1].Name() != "now" || docs[1].String("type") != "subsegment" {
		t.Fatalf("CloseAndStream: %v", docs)
	}
	seg.Close(nil)
	if docs := e.Documents(); len(docs) != 3 || len(docs[2].Subsegments()) != 0 || docs[2].Bool("in_progress") {
		t.Fatalf("streamed subsegment sent twice: %v", docs)
	}
}

// Subsegments opened and closed from many goroutines at once, with
// streaming on: each arrives once, under its parent. (In memory: this is
// about the tree's locking, not about the network.)
func TestConcurrentSubsegments(t *testing.T) {
	r, e := xraytest.NewRecorder(xray.Config{SamplingStrategy: sampling.Always})
	ctx, seg := r.BeginSegment(context.Background(), "parallel")
	const goroutines, each = 64, 20
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				sctx, sub := xray.BeginSubsegment(ctx, fmt.Sprintf("g%d-%d", g, i))
				xray.AddAnnotation(sctx, "g", g)
				seg.AddMetadata(fmt.Sprintf("k%d", g), i)
				_, inner := xray.BeginSubsegment(sctx, "inner")
				inner.Close(nil)
				sub.Close(nil)
			}
		}()
	}
	wg.Wait()
	seg.Close(nil)
	flush(t, r)
	docs := e.Documents()
	n := 0
	for _, doc := range docs {
		doc.Walk(func(x, _ xraytest.Document) {
			if x.Name() == "inner" {
				n++
			}
		})
	}
	if n != goroutines*each {
		t.Fatalf("%d inner subsegments recorded, want %d", n, goroutines*each)
	}
	segs, orphans := xraytest.Assemble(docs)
	if len(segs) != 1 || len(orphans) != 0 {
		t.Fatalf("segments %d, orphans %d", len(segs), len(orphans))
	}
}

func TestNilSegmentIsSafe(t *testing.T) {
	var s *xray.Segment
	s.Close(errors.New("x"))
	s.CloseAndStream(nil)
	if s.AddAnnotation("k", 1) != nil || s.AddMetadata("k", 1) != nil || s.AddMetadataToNamespace("n", "k", 1) != nil || s.AddError(errors.New("e")) != nil || s.SetAWS("k", 1) != nil {
		t.Error("nil segment returned an error")
	}
	s.AddFaultFlag()
	s.AddErrorFlag()
	s.AddThrottleFlag()
	s.SetUser("u")
	s.SetOrigin("o")
	s.SetNamespace("remote")
	s.SetSQL(&xray.SQL{})
	s.SetHTTPRequest(xray.HTTPRequest{})
	s.SetHTTPResponse(200, 1)
	s.AddCause(errors.New("e"), true)
	s.RecordPanic("p")
	ctx, sub := s.BeginSubsegment(context.Background(), "x")
	if sub != nil || ctx == nil {
		t.Error("BeginSubsegment on nil")
	}
	if s.ID() != "" || s.TraceID() != "" || s.Name() != "" || s.Sampled() || s.Fault() || s.Segment() != nil || s.Parent() != nil || s.IsSubsegment() {
		t.Error("nil accessors")
	}
	if s.DownstreamHeader() == nil {
		t.Error("nil DownstreamHeader")
	}
}

func TestContextMissing(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	r, err := xray.New(xray.Config{Logger: logger, Emitter: xraytest.NewEmitter()})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		ctx, sub := r.BeginSubsegment(context.Background(), "orphan") // one call site
		if sub != nil || ctx == nil {
			t.Fatal("BeginSubsegment without a segment")
		}
		sub.AddAnnotation("k", "v")
		sub.Close(nil)
	}
	r.BeginSubsegment(context.TODO(), "other") // a second call site
	if n := strings.Count(logs.String(), "context missing"); n != 2 {
		t.Errorf("logged %d times, want once per call site (2):\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "recorder_test.go") {
		t.Errorf("log does not name the call site:\n%s", logs.String())
	}
	if err := r.Capture(context.Background(), "x", func(context.Context) error { return nil }); err != nil {
		t.Error(err)
	}

	t.Setenv("AWS_XRAY_CONTEXT_MISSING", "RUNTIME_ERROR")
	r, err = xray.New(xray.Config{Emitter: xraytest.NewEmitter()})
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("RUNTIME_ERROR did not panic")
			}
		}()
		r.BeginSubsegment(context.Background(), "x")
	}()
	t.Setenv("AWS_XRAY_CONTEXT_MISSING", "IGNORE_ERROR")
	r, _ = xray.New(xray.Config{Emitter: xraytest.NewEmitter()})
	r.BeginSubsegment(context.Background(), "x")
	t.Setenv("AWS_XRAY_CONTEXT_MISSING", "BOGUS")
	if _, err := xray.New(xray.Config{}); err == nil {
		t.Error("bad AWS_XRAY_CONTEXT_MISSING accepted")
	}
}

func TestEnvironment(t *testing.T) {
	d := xraytest.NewDaemon(t)
	t.Setenv("AWS_XRAY_DAEMON_ADDRESS", "tcp:127.0.0.1:1 udp:"+d.Addr())
	t.Setenv("AWS_XRAY_TRACING_NAME", "from-env")
	r, err := xray.New(xray.Config{DaemonAddr: "127.0.0.1:9", SamplingStrategy: sampling.Always})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	_, seg := r.BeginSegment(context.Background(), "from-code")
	seg.Close(nil)
	flush(t, r)
	if docs := d.WaitDocuments(t, 1, 5*time.Second); docs[0].Name() != "from-env" {
		t.Errorf("name = %q", docs[0].Name())
	}

	for _, kv := range [][2]string{{"AWS_XRAY_SDK_DISABLED", "true"}, {"AWS_XRAY_SDK_ENABLED", "false"}} {
		t.Run(kv[0], func(t *testing.T) {
			t.Setenv(kv[0], kv[1])
			r, err := xray.New(xray.Config{SamplingStrategy: sampling.Always})
			if err != nil {
				t.Fatal(err)
			}
			ctx, seg := r.BeginSegment(context.Background(), "x")
			if seg != nil || xray.GetSegment(ctx) != nil {
				t.Error("disabled recorder began a segment")
			}
			called := false
			r.Capture(ctx, "x", func(context.Context) error { called = true; return nil })
			if !called {
				t.Error("Capture did not run fn")
			}
			if err := r.Flush(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	t.Setenv("AWS_XRAY_DAEMON_ADDRESS", "not an address at all")
	if _, err := xray.New(xray.Config{}); err == nil {
		t.Error("bad AWS_XRAY_DAEMON_ADDRESS accepted")
	}
}

func TestAnnotationAndMetadataRules(t *testing.T) {
	r, e := xraytest.NewRecorder()
	_, seg := r.BeginSegment(context.Background(), "s")
	for _, k := range []string{"", "has space", "dash-ed", "ünï", strings.Repeat("k", 501)} {
		if err := seg.AddAnnotation(k, 1); !errors.Is(err, xray.ErrInvalidAnnotationKey) {
			t.Errorf("key %q: %v", k, err)
		}
	}
	if err := seg.AddAnnotation("slice", []int{1}); err == nil {
		t.Error("slice value accepted")
	}
	seg.AddAnnotation("long", strings.Repeat("é", 1500))
	seg.AddAnnotation("dup", 1)
	seg.AddAnnotation("dup", 2)
	if err := seg.AddMetadataToNamespace("AWS.reserved", "k", 1); !errors.Is(err, xray.ErrInvalidMetadataKey) {
		t.Errorf("AWS. namespace: %v", err)
	}
	if err := seg.AddMetadata("ch", make(chan int)); err == nil {
		t.Error("unmarshalable metadata accepted")
	}
	seg.AddMetadata("ok", 1)
	seg.Close(nil)
	doc := e.Documents()[0]
	validate(t, doc)
	ann := doc.Object("annotations")
	if s := ann["long"].(string); len([]rune(s)) != 1000 {
		t.Errorf("long annotation has %d characters", len([]rune(s)))
	}
	if ann["dup"] != 2.0 || len(ann) != 2 {
		t.Errorf("annotations = %v", ann)
	}
	if md := doc.Object("metadata")["default"].(map[string]any); len(md) != 1 || md["ok"] != 1.0 {
		t.Errorf("metadata = %v", md)
	}
}

func TestNamesAreSanitized(t *testing.T) {
	r, e := xraytest.NewRecorder()
	ctx, seg := r.BeginSegment(context.Background(), "my service<script>!")
	_, sub := xray.BeginSubsegment(ctx, strings.Repeat("ñ", 300))
	sub.Close(nil)
	seg.Close(nil)
	doc := e.Documents()[0]
	validate(t, doc)
	if doc.Name() != "my service_script__" {
		t.Errorf("name = %q", doc.Name())
	}
	if n := len([]rune(doc.Subsegments()[0].Name())); n != 200 {
		t.Errorf("subsegment name has %d characters", n)
	}
	_, seg = r.BeginSegment(context.Background(), "")
	if seg.Name() == "" {
		t.Error("empty name kept")
	}
}

func TestCapturePanic(t *testing.T) {
	r, e := xraytest.NewRecorder()
	ctx, seg := r.BeginSegment(context.Background(), "s")
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the original panic", p)
			}
		}()
		xray.Capture(ctx, "panics", func(context.Context) error { panic("boom") })
	}()
	seg.Close(nil)
	sub := e.Documents()[0].Find("panics")
	if sub == nil || !sub.Bool("fault") {
		t.Fatalf("panic not recorded: %v", sub)
	}
	ex := sub.Object("cause")["exceptions"].([]any)[0].(map[string]any)
	if ex["type"] != "panic" || ex["message"] != "boom" || !strings.Contains(fmt.Sprint(ex["stack"]), "TestCapturePanic") {
		t.Errorf("exception = %v", ex)
	}
}

// notifying is an in-memory emitter that signals each document.
type notifying struct {
	*xraytest.Emitter
	emitted chan struct{}
}

func (n notifying) Emit(doc []byte) {
	n.Emitter.Emit(doc)
	n.emitted <- struct{}{}
}

func TestCaptureAsync(t *testing.T) {
	e := notifying{xraytest.NewEmitter(), make(chan struct{}, 16)}
	r, err := xray.New(xray.Config{Emitter: e, SamplingStrategy: sampling.Always})
	if err != nil {
		t.Fatal(err)
	}
	ctx, seg := r.BeginSegment(context.Background(), "s")
	done := make(chan struct{})
	r.CaptureAsync(ctx, "async", func(ctx context.Context) error {
		defer close(done)
		return xray.AddAnnotation(ctx, "in", "async")
	})
	<-done
	seg.Close(nil)
	// The async subsegment closes right after fn returns: the document
	// may be the segment with it, or the segment and then it alone.
	timeout := time.After(5 * time.Second)
	for {
		select {
		case <-e.emitted:
		case <-timeout:
			t.Fatal("async subsegment never arrived")
		}
		segs, orphans := xraytest.Assemble(e.Documents())
		if len(orphans) != 0 {
			t.Fatal(orphans)
		}
		if len(segs) == 1 && segs[0].Find("async") != nil {
			if segs[0].Find("async").Object("annotations")["in"] != "async" {
				t.Error("annotation missing")
			}
			return
		}
	}
}

func TestDetachContext(t *testing.T) {
	r, _ := xraytest.NewRecorder()
	ctx, seg := r.BeginSegment(context.Background(), "s")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	d := xray.DetachContext(cctx)
	if d.Err() != nil || xray.GetSegment(d) != seg {
		t.Fatal("DetachContext")
	}
	if xray.GetSegment(xray.ContextWithSegment(context.Background(), seg)) != seg {
		t.Fatal("ContextWithSegment")
	}
	if xray.GetSegment(nil) != nil || xray.IsSampled(context.Background()) || xray.TraceID(context.Background()) != "" { //nolint:staticcheck // nil context on purpose
		t.Fatal("no segment")
	}
}

func TestDaemonDown(t *testing.T) {
	// A port nobody listens on: writes fail with ECONNREFUSED.
	d := xraytest.NewDaemon(t)
	addr := d.Addr()
	d.Close()
	var logs bytes.Buffer
	e := xray.NewUDPEmitter(addr, slog.New(slog.NewTextHandler(&logs, nil)))
	r, err := xray.New(xray.Config{Emitter: e, SamplingStrategy: sampling.Always})
	if err != nil {
		t.Fatal(err)
	}
	for range 200 {
		_, seg := r.BeginSegment(context.Background(), "s")
		seg.Close(nil)
	}
	flush(t, r)
	if e.Sent()+e.Dropped() != 200 {
		t.Errorf("sent %d + dropped %d != 200", e.Sent(), e.Dropped())
	}
	if e.Dropped() == 0 {
		t.Error("nothing counted as dropped with no daemon")
	}
	if n := strings.Count(logs.String(), "documents dropped"); n > 1 {
		t.Errorf("drop logged %d times; want at most one line per 30 s", n)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Error(err)
	}
	_, seg := r.BeginSegment(context.Background(), "after-close")
	seg.Close(nil) // dropped, no panic
}

func TestUDPEmitterUnresolvableHost(t *testing.T) {
	e := xray.NewUDPEmitter("host.invalid:2000", slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	for range 10 {
		e.Emit([]byte(`{"name":"x"}`))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if e.Dropped() != 10 {
		t.Errorf("dropped %d, want 10", e.Dropped())
	}
	e.Close(ctx)
}

func TestEmitterGoroutineExits(t *testing.T) {
	before := runtime.NumGoroutine()
	d := xraytest.NewDaemon(t)
	e := xray.NewUDPEmitter(d.Addr(), nil)
	e.Emit([]byte(`{"name":"x"}`))
	if err := e.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	d.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}
