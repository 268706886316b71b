package store

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray/cmd/xray/internal/daemon"
)

const hdr = "{\"format\":\"json\",\"version\":1}\n"

// memoryCeiling is what the heap may hold after any one input: far above
// what the bounded answers need, far below what the unbounded ones took.
const memoryCeiling = 512 << 20

func checkMemory(t *testing.T) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if m.HeapInuse > memoryCeiling {
		t.Fatalf("heap in use %d MB", m.HeapInuse>>20)
	}
}

func mustJSON(t *testing.T, what string, v any) {
	b, err := json.Marshal(v)
	if err != nil || !json.Valid(b) {
		t.Fatalf("%s does not encode as JSON: %v", what, err)
	}
}

// FuzzIngest follows a datagram through the daemon's parser, the store,
// the assembly of its trace and the API's answers: no panic, every answer
// valid JSON, memory bounded.
func FuzzIngest(f *testing.F) {
	for _, d := range []string{
		`{"name":"svc","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1478293361.271,"end_time":1478293361.449,"annotations":{"k":"v","n":1},"subsegments":[{"name":"db","id":"70de5b6f19ff9a0b","start_time":1478293361.3,"end_time":1478293361.4,"namespace":"remote","sql":{"sanitized_query":"SELECT 1"}}]}`,
		`{"name":"s","id":"70de5b6f19ff9a0c","trace_id":"1-581cf771-a006649127e371903a2de979","type":"subsegment","parent_id":"70de5b6f19ff9a0c","start_time":1,"end_time":2}`,
		`{"name":"inf","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1e308,"end_time":-1e308}`,
		`{"name":"c","id":"70de5b6f19ff9a0d","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":5,"cause":{"exceptions":"x"},"in_progress":true}`,
	} {
		f.Add([]byte(hdr+d), []byte(hdr+d))
	}
	s, err := Open(":memory:", nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var docs []daemon.Document
		for _, dg := range [][]byte{a, b} {
			if d, err := daemon.Parse(dg); err == nil {
				docs = append(docs, d)
			}
		}
		if len(docs) == 0 {
			return
		}
		if err := s.Write(ctx, docs); err != nil {
			t.Fatalf("write: %v", err)
		}
		for _, d := range docs {
			tr, err := s.Trace(ctx, d.TraceID)
			if err != nil {
				t.Fatalf("trace %s: %v", d.TraceID, err)
			}
			if tr.Roots == nil {
				t.Fatal("roots is null")
			}
			mustJSON(t, "trace", tr)
		}
		list, err := s.Traces(ctx, Query{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		mustJSON(t, "trace list", list)
		sm, err := s.Services(ctx, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		mustJSON(t, "service map", sm)
		if _, err := s.Prune(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		checkMemory(t)
	})
}

// FuzzFilter compiles filter expressions: each is refused with a filter
// error or runs against the store, in time bounded by its length.
func FuzzFilter(f *testing.F) {
	for _, e := range []string{"fault", `annotation.user = "42" AND responsetime > 0.5`, `service("api") OR !(error || throttle)`,
		"http.status >= 500", strings.Repeat("!", 100) + "ok", strings.Repeat("(", 40) + "fault" + strings.Repeat(")", 40), `annotation.клиент = "ü"`} {
		f.Add(e)
	}
	s, err := Open(":memory:", nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, expr string) {
		began := time.Now()
		_, err := s.Traces(context.Background(), Query{Filter: expr})
		var fe *FilterError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("%q: the store refused the compiled filter: %v", expr, err)
		}
		if d := time.Since(began); d > 2*time.Second {
			t.Fatalf("%q took %v", expr, d)
		}
	})
}
