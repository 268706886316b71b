package otlpin

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/openxray/xray/cmd/xray/internal/daemon"
)

// FuzzReceive posts arbitrary bodies, as protobuf and as JSON: the
// receiver answers every one, and what it offers the store passes the
// daemon's own checks.
func FuzzReceive(f *testing.F) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	sp.SetSpanID([8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	sp.SetParentSpanID([8]byte{8, 7, 6, 5, 4, 3, 2, 1})
	sp.SetStartTimestamp(1_700_000_000_000_000_000)
	sp.SetEndTimestamp(1_700_000_001_000_000_000)
	sp.Attributes().PutStr("db.system.name", "postgresql")
	sp.Attributes().PutStr("db.query.text", "SELECT 1")
	sp.Attributes().PutEmptySlice("aws.xray.annotations").AppendEmpty().SetStr("k")
	sp.Attributes().PutInt("k", 1)
	ev := sp.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.stacktrace", "main.f\n\t/x.go:1\n")
	req := ptraceotlp.NewExportRequestFromTraces(td)
	pb, _ := req.MarshalProto()
	js, _ := req.MarshalJSON()
	f.Add(pb, false)
	f.Add(js, true)
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00","spanId":"zz"}]}]}]}`), true)
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		offered := 0
		r := New(Config{}, func(d daemon.Document) bool {
			if _, err := daemon.ParseDocument(d.Raw); err != nil {
				t.Fatalf("offered a document the daemon refuses: %v\n%s", err, d.Raw)
			}
			offered++
			return true
		})
		ct := "application/x-protobuf"
		if isJSON {
			ct = "application/json"
		}
		hr := httptest.NewRequest("POST", Path, bytes.NewReader(body))
		hr.Header.Set("Content-Type", ct)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, hr)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("status %d", w.Code)
		}
		if st := r.Stats(); st.Accepted != uint64(offered) {
			t.Fatalf("accepted %d, offered %d", st.Accepted, offered)
		}
	})
}
