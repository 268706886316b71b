package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/xrayhttp"
	"github.com/openxray/xray/xraysql"
)

// Jaeger as scripts/test starts it (testdata/jaeger.yaml); the variables
// point the test at another one.
func jaegerURLs() (otlp, query string) {
	otlp, query = os.Getenv("JAEGER_OTLP_ENDPOINT"), os.Getenv("JAEGER_QUERY_URL")
	if otlp == "" {
		otlp = "http://127.0.0.1:14318/v1/traces"
	}
	if query == "" {
		query = "http://127.0.0.1:16686"
	}
	return otlp, query
}

// jaegerTrace is the part of Jaeger's query API answer the test reads.
type jaegerTrace struct {
	Spans []struct {
		SpanID        string `json:"spanID"`
		OperationName string `json:"operationName"`
		References    []struct {
			RefType string `json:"refType"`
			SpanID  string `json:"spanID"`
		} `json:"references"`
		Tags []struct {
			Key   string `json:"key"`
			Value any    `json:"value"`
		} `json:"tags"`
		ProcessID string `json:"processID"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

// An OpenXRay service pair exports over OTLP to Jaeger, which users run
// when they outgrow one machine; the trace read back through Jaeger's
// query API has the tree, the kinds and the database and HTTP attributes.
func TestExportToJaeger(t *testing.T) {
	otlpURL, queryURL := jaegerURLs()
	if resp, err := http.Get(queryURL + "/api/services"); err != nil {
		t.Fatalf("Jaeger's query API at %s does not answer (scripts/test starts Jaeger): %v", queryURL, err)
	} else {
		resp.Body.Close()
	}
	r := newOTLPRecorder(t, otlpURL, xray.Config{})
	db, err := xraysql.Open("pgx", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", xraysql.WithRecorder(r))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	orders := httptest.NewServer(xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("jaeger-orders"), http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var n int
		if err := db.QueryRowContext(req.Context(), "SELECT count(*) FROM pg_class WHERE relname = 'x'").Scan(&n); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprint(w, n)
	}), xrayhttp.WithRecorder(r)))
	defer orders.Close()
	client := xrayhttp.Client(nil, xrayhttp.WithRecorder(r))

	ctx, seg := r.BeginSegment(context.Background(), "jaeger-frontend")
	req, _ := http.NewRequestWithContext(ctx, "GET", orders.URL+"/orders/7", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("orders answered %d", resp.StatusCode)
	}
	seg.Close(nil)
	flush(t, r)

	traceID := strings.ReplaceAll(seg.TraceID()[2:], "-", "")
	var tr jaegerTrace
	deadline := time.Now().Add(15 * time.Second)
	for {
		tr = getJaegerTrace(t, queryURL, traceID)
		if len(tr.Spans) >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Four, and the driver's connect when the pool opened a connection.
	if len(tr.Spans) < 4 {
		t.Fatalf("Jaeger has %d spans of trace %s, want at least 4", len(tr.Spans), traceID)
	}
	type span struct {
		name, service, parent string
		tags                  map[string]any
	}
	spans := map[string]span{}
	for _, s := range tr.Spans {
		sp := span{name: s.OperationName, service: tr.Processes[s.ProcessID].ServiceName, tags: map[string]any{}}
		for _, ref := range s.References {
			if ref.RefType == "CHILD_OF" {
				sp.parent = ref.SpanID
			}
		}
		for _, tag := range s.Tags {
			sp.tags[tag.Key] = tag.Value
		}
		spans[s.SpanID] = sp
	}
	front := spans[seg.ID()]
	if front.service != "jaeger-frontend" || front.tags["span.kind"] != "server" || front.parent != "" {
		t.Errorf("frontend span %+v", front)
	}
	var call, server, query span
	var callID, serverID string
	for id, s := range spans {
		switch {
		case s.tags["span.kind"] == "client" && s.parent == seg.ID():
			call, callID = s, id
		case s.service == "jaeger-orders" && s.tags["span.kind"] == "server":
			server, serverID = s, id
		case s.tags["db.query.text"] != nil:
			query = s
		}
	}
	if callID == "" || server.parent != callID {
		t.Fatalf("the orders segment's parent should be the frontend's client span: %+v", spans)
	}
	if call.tags["http.request.method"] != "GET" || !strings.HasSuffix(fmt.Sprint(call.tags["url.full"]), "/orders/7") ||
		fmt.Sprint(call.tags["http.response.status_code"]) != "200" {
		t.Errorf("client span tags %v", call.tags)
	}
	if server.tags["http.request.method"] != "GET" || fmt.Sprint(server.tags["http.response.status_code"]) != "200" {
		t.Errorf("server span tags %v", server.tags)
	}
	if query.parent != serverID || query.tags["span.kind"] != "client" || query.tags["db.system.name"] != "postgresql" ||
		query.tags["db.namespace"] != "test" || query.tags["db.query.text"] != "SELECT count ( * ) FROM pg_class WHERE relname = ?" {
		t.Errorf("query span %+v", query)
	}
}

func getJaegerTrace(t *testing.T, queryURL, traceID string) jaegerTrace {
	t.Helper()
	resp, err := http.Get(queryURL + "/api/traces/" + traceID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data []jaegerTrace `json:"data"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound {
		return jaegerTrace{}
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("Jaeger's answer %d %.200s: %v", resp.StatusCode, b, err)
	}
	if len(out.Data) == 0 {
		return jaegerTrace{}
	}
	return out.Data[0]
}
