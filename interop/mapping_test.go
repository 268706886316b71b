package interop

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraysql"
)

// collector is an OTLP/HTTP endpoint on loopback that decodes each request
// with the OpenTelemetry collector's pdata and keeps the raw bodies.
type collector struct {
	*httptest.Server
	mu     sync.Mutex
	traces []ptrace.Traces
	bodies [][]byte
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(b); err != nil {
			t.Errorf("pdata cannot decode the exporter's request: %v", err)
			http.Error(w, err.Error(), 400)
			return
		}
		c.mu.Lock()
		c.traces = append(c.traces, req.Traces())
		c.bodies = append(c.bodies, b)
		c.mu.Unlock()
		out, _ := ptraceotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(c.Close)
	return c
}

// spans returns every span received, with its resource, by name.
func (c *collector) spans() map[string]spanWithResource {
	out := map[string]spanWithResource{}
	for _, s := range c.list() {
		out[s.Name()] = s
	}
	return out
}

// list returns every span received, with its resource.
func (c *collector) list() []spanWithResource {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []spanWithResource
	for _, td := range c.traces {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j)
				for k := 0; k < ss.Spans().Len(); k++ {
					s := ss.Spans().At(k)
					out = append(out, spanWithResource{Span: s, res: rs.Resource().Attributes(), scope: ss.Scope().Name()})
				}
			}
		}
	}
	return out
}

type spanWithResource struct {
	ptrace.Span
	res   pcommon.Map
	scope string
}

func a0(s spanWithResource) pcommon.Map { return s.Attributes() }

func attr(t *testing.T, m pcommon.Map, key string) any {
	t.Helper()
	v, ok := m.Get(key)
	if !ok {
		return nil
	}
	return v.AsRaw()
}

func newOTLPRecorder(t *testing.T, endpoint string, cfg xray.Config) *xray.Recorder {
	t.Helper()
	cfg.Exporters = []string{xray.ExporterOTLP}
	cfg.OTLP.Endpoint = endpoint
	if cfg.SamplingStrategy == nil {
		cfg.SamplingStrategy = sampling.Always
	}
	r, err := xray.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

func flush(t *testing.T, r *xray.Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// The mapping from X-Ray to OpenTelemetry, read back with pdata.
func TestExportMapping(t *testing.T) {
	c := newCollector(t)
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
	r := newOTLPRecorder(t, c.URL+"/v1/traces", xray.Config{ServiceVersion: "2.4.1", Plugins: []xray.Plugin{ec2Plugin{}}})

	ctx, seg := r.BeginSegment(context.Background(), "checkout")
	seg.SetUser("alice")
	seg.SetHTTPRequest(xray.HTTPRequest{Method: "POST", URL: "https://shop.example.com/cart", UserAgent: "curl/8", ClientIP: "203.0.113.9"})
	seg.AddAnnotation("order_id", "A-17")
	seg.AddAnnotation("items", 3)
	seg.AddAnnotation("gift", true)
	seg.AddMetadataToNamespace("cart", "lines", []string{"x", "y"})

	_, q := seg.BeginSubsegment(ctx, "test@127.0.0.1")
	q.SetNamespace("remote")
	q.SetSQL(&xray.SQL{URL: "postgres://127.0.0.1:5432/test", DatabaseType: "PostgreSQL", SanitizedQuery: "SELECT name FROM products WHERE id = $1", DatabaseVersion: "17.2"})
	q.Close(nil)

	_, ddb := seg.BeginSubsegment(ctx, "DynamoDB")
	ddb.SetNamespace("aws")
	ddb.SetAWS("operation", "GetItem")
	ddb.SetAWS("region", "eu-west-1")
	ddb.SetAWS("request_id", "REQ123")
	ddb.SetAWS("table_name", "orders")
	ddb.SetHTTPResponse(400, 0)
	ddb.AddThrottleFlag()
	ddb.AddCause(errors.New("ProvisionedThroughputExceededException"), true)
	ddb.Close(nil)

	_, work := seg.BeginSubsegment(ctx, "render")
	work.Close(errors.New("template: missing key"))

	seg.SetHTTPResponse(502, 120)
	seg.AddFaultFlag()
	seg.Close(nil)
	flush(t, r)

	spans := c.spans()
	if len(spans) != 4 {
		t.Fatalf("%d spans: %v", len(spans), spans)
	}
	root, sqlSpan, awsSpan, render := spans["checkout"], spans["test@127.0.0.1"], spans["DynamoDB"], spans["render"]

	// IDs: the X-Ray trace ID's 32 hex digits; entity IDs as span IDs.
	wantTrace := strings.ReplaceAll(seg.TraceID()[2:], "-", "")
	for name, s := range spans {
		if got := s.TraceID().String(); got != wantTrace {
			t.Errorf("%s: trace %s, want %s", name, got, wantTrace)
		}
	}
	if root.SpanID().String() != seg.ID() || !root.ParentSpanID().IsEmpty() {
		t.Errorf("segment span %s parent %s", root.SpanID(), root.ParentSpanID())
	}
	if sqlSpan.ParentSpanID().String() != seg.ID() || sqlSpan.SpanID().String() != q.ID() {
		t.Errorf("sql span %s parent %s", sqlSpan.SpanID(), sqlSpan.ParentSpanID())
	}

	// Kinds.
	for name, want := range map[string]ptrace.SpanKind{
		"checkout": ptrace.SpanKindServer, "test@127.0.0.1": ptrace.SpanKindClient,
		"DynamoDB": ptrace.SpanKindClient, "render": ptrace.SpanKindInternal,
	} {
		if got := spans[name].Kind(); got != want {
			t.Errorf("%s: kind %v, want %v", name, got, want)
		}
	}

	// Resource and scope, with what the plugins found.
	for key, want := range map[string]any{
		"service.name": "checkout", "service.version": "2.4.1", "telemetry.sdk.language": "go",
		"telemetry.sdk.name": "openxray", "telemetry.sdk.version": xray.SDKVersion, "deployment.environment.name": "test",
		"cloud.provider": "aws", "cloud.platform": "aws_ec2", "host.id": "i-0abc", "host.type": "m7g.large",
		"cloud.availability_zone": "eu-west-1b", "cloud.region": "eu-west-1",
	} {
		if got := attr(t, root.res, key); got != want {
			t.Errorf("resource %s = %v, want %v", key, got, want)
		}
	}
	if got := attr(t, a0(root), "aws.xray.origin"); got != "AWS::EC2::Instance" {
		t.Errorf("aws.xray.origin = %v", got)
	}
	if root.scope != "github.com/openxray/xray" {
		t.Errorf("scope %q", root.scope)
	}

	// Segment: http conventions, status, annotations and metadata.
	a := root.Attributes()
	for key, want := range map[string]any{
		"http.request.method": "POST", "url.full": "https://shop.example.com/cart", "user_agent.original": "curl/8",
		"client.address": "203.0.113.9", "http.response.status_code": int64(502), "http.response.body.size": int64(120),
		"enduser.id": "alice", "order_id": "A-17", "items": int64(3), "gift": true, "aws.xray.fault": true,
		"aws.xray.metadata.cart": `{"lines":["x","y"]}`,
	} {
		if got := attr(t, a, key); got != want {
			t.Errorf("segment %s = %#v, want %#v", key, got, want)
		}
	}
	if got := attr(t, a, "aws.xray.annotations"); !sameSet(got, "order_id", "items", "gift") {
		t.Errorf("aws.xray.annotations = %v", got)
	}
	if root.Status().Code() != ptrace.StatusCodeError {
		t.Errorf("fault: status %v, want Error", root.Status().Code())
	}

	// SQL: the database conventions, the sanitized statement only.
	for key, want := range map[string]any{
		"db.system.name": "postgresql", "db.namespace": "test", "server.address": "127.0.0.1", "server.port": int64(5432),
		"db.query.text": "SELECT name FROM products WHERE id = $1", "db.operation.name": "SELECT",
		"db.collection.name": "products", "db.system.version": "17.2",
	} {
		if got := attr(t, sqlSpan.Attributes(), key); got != want {
			t.Errorf("sql %s = %#v, want %#v", key, got, want)
		}
	}

	// AWS: rpc and aws conventions; throttle and error kept.
	for key, want := range map[string]any{
		"rpc.system": "aws-api", "rpc.service": "DynamoDB", "rpc.method": "GetItem", "aws.region": "eu-west-1",
		"aws.request_id": "REQ123", "aws.xray.throttle": true, "aws.xray.error": true, "http.response.status_code": int64(400),
	} {
		if got := attr(t, awsSpan.Attributes(), key); got != want {
			t.Errorf("aws %s = %#v, want %#v", key, got, want)
		}
	}
	if got := attr(t, awsSpan.Attributes(), "aws.dynamodb.table_names"); !sameSet(got, "orders") {
		t.Errorf("aws.dynamodb.table_names = %v", got)
	}
	if awsSpan.Status().Code() == ptrace.StatusCodeError {
		t.Errorf("an error (4xx) is not a fault: status %v", awsSpan.Status().Code())
	}

	// Causes: exception events with type, message and a stack.
	if render.Status().Code() != ptrace.StatusCodeError || render.Events().Len() != 1 {
		t.Fatalf("render: status %v, %d events", render.Status().Code(), render.Events().Len())
	}
	ev := render.Events().At(0)
	st, _ := ev.Attributes().Get("exception.stacktrace")
	if ev.Name() != "exception" || attr(t, ev.Attributes(), "exception.message") != "template: missing key" ||
		attr(t, ev.Attributes(), "exception.type") == nil || !strings.Contains(st.Str(), "mapping_test.go:") {
		t.Errorf("exception event %v", ev.Attributes().AsRaw())
	}
	// Times are the entity's own, in nanoseconds.
	if root.StartTimestamp() == 0 || root.EndTimestamp() < root.StartTimestamp() {
		t.Errorf("times %v..%v", root.StartTimestamp(), root.EndTimestamp())
	}
}

// ec2Plugin reports an EC2 instance, as plugins/ec2 does from IMDS.
type ec2Plugin struct{}

func (ec2Plugin) Detect(context.Context) (*xray.Environment, error) {
	return &xray.Environment{Origin: "AWS::EC2::Instance", Key: "ec2", Fields: map[string]any{
		"instance_id": "i-0abc", "instance_type": "m7g.large", "availability_zone": "eu-west-1b",
	}}, nil
}

func sameSet(got any, want ...string) bool {
	list, ok := got.([]any)
	if !ok || len(list) != len(want) {
		return false
	}
	seen := map[string]bool{}
	for _, v := range list {
		s, _ := v.(string)
		seen[s] = true
	}
	for _, w := range want {
		if !seen[w] {
			return false
		}
	}
	return true
}

// What the UDP path keeps out of segment documents stays out of OTLP
// requests: the DSN's password and the statement's literals, from a real
// PostgreSQL query through xraysql.
func TestExportKeepsSecretsOut(t *testing.T) {
	c := newCollector(t)
	r := newOTLPRecorder(t, c.URL+"/v1/traces", xray.Config{})
	db, err := xraysql.Open("pgx", "postgres://postgres:hunter2-pw@127.0.0.1:5432/test?sslmode=disable", xraysql.WithRecorder(r))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, seg := r.BeginSegment(context.Background(), "secrets")
	var n int
	err = db.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 'card-4111111111111111' AS c) s WHERE c <> 'sekrit-literal'").Scan(&n)
	if err != nil {
		t.Fatalf("PostgreSQL at 127.0.0.1:5432 (scripts/test starts it): %v", err)
	}
	var got string
	if err := db.QueryRowContext(ctx, "SELECT $1::text", "param-value-42").Scan(&got); err != nil {
		t.Fatal(err)
	}
	// A failing statement: PostgreSQL's SQLSTATE becomes db.response.status_code.
	if _, err := db.ExecContext(ctx, "SELECT * FROM no_such_table_here"); err == nil {
		t.Fatal("the statement on a missing table succeeded")
	}
	seg.Close(nil)
	flush(t, r)
	var code any
	for _, s := range c.list() {
		if v, ok := s.Attributes().Get("db.query.text"); ok && strings.Contains(v.Str(), "no_such_table_here") {
			code = attr(t, s.Attributes(), "db.response.status_code")
			if s.Status().Code() != ptrace.StatusCodeUnset && s.Status().Code() != ptrace.StatusCodeError {
				t.Errorf("status %v", s.Status().Code())
			}
		}
	}
	if code != "42P01" {
		t.Errorf("db.response.status_code = %v, want PostgreSQL's 42P01", code)
	}
	c.mu.Lock()
	all := bytes.Join(c.bodies, nil)
	c.mu.Unlock()
	if len(all) == 0 {
		t.Fatal("nothing exported")
	}
	for _, secret := range []string{"hunter2-pw", "4111111111111111", "sekrit-literal", "param-value-42"} {
		if bytes.Contains(all, []byte(secret)) {
			t.Errorf("%q reached the OTLP request", secret)
		}
	}
	var found bool
	for _, s := range c.list() {
		if v, ok := s.Attributes().Get("db.query.text"); ok && strings.Contains(v.Str(), "SELECT count ( * ) FROM") {
			found = true
		}
	}
	if !found {
		for _, s := range c.list() {
			t.Logf("%s: %v", s.Name(), s.Attributes().AsRaw())
		}
		t.Error("no span with the sanitized statement")
	}
	_ = sql.ErrNoRows
}
