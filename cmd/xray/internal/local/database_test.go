package local

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray/cmd/xray/internal/daemon"
	"github.com/openxray/xray/cmd/xray/internal/store"
)

// The database page's API aggregates statements across traces: calls,
// time, p95, rows, errors, N+1 occurrences, traces, and per database its
// slow queries and pool waits.
func TestDatabaseAggregates(t *testing.T) {
	l := start(t)
	now := float64(time.Now().Unix())
	sub := func(id string, start, ms float64, query string, extra string) string {
		return fmt.Sprintf(`{"name":"db","id":%q,"start_time":%f,"end_time":%f,"namespace":"remote","sql":{"sanitized_query":%q,"url":"postgres://h:5432/shop"}%s}`,
			id, now+start, now+start+ms/1000, query, extra)
	}
	const sel = "SELECT name FROM items WHERE id = ?"
	var subs []string
	for i := range 4 {
		subs = append(subs, sub(fmt.Sprintf("a00000000000000%d", i), float64(i)*0.01, 1, sel, `,"metadata":{"sql":{"rows_read":1}}`))
	}
	subs = append(subs, sub("a000000000000009", 0.05, 2, "UPDATE items SET n = ? WHERE id = ?", `,"fault":true`))
	a := fmt.Sprintf(`{"name":"api","id":"aaaaaaaaaaaaaaaa","trace_id":"1-5f000001-aaaaaaaaaaaaaaaaaaaaaaaa","start_time":%f,"end_time":%f,"subsegments":[%s]}`,
		now, now+0.1, strings.Join(subs, ","))
	b := fmt.Sprintf(`{"name":"worker","id":"bbbbbbbbbbbbbbbb","trace_id":"1-5f000001-bbbbbbbbbbbbbbbbbbbbbbbb","start_time":%f,"end_time":%f,"subsegments":[%s]}`,
		now, now+0.1, sub("b000000000000001", 0, 10, sel, `,"annotations":{"slow_query":true},"metadata":{"sql":{"rows_read":3},"database":{"pool_wait_ms":2.5}}`))
	header := `{"format":"json","version":1}` + "\n"
	send(t, l, header+a, header+b)
	stored(t, l, 2)

	var v store.DatabaseView
	if code := getJSON(t, l, "/api/database?since=1h", &v); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(v.Statements) != 2 {
		t.Fatalf("statements %+v", v.Statements)
	}
	s := v.Statements[0] // sorted by total time: the SELECT's 14 ms first
	if s.Query != sel || s.Database != "db" || s.Calls != 5 || s.Traces != 2 || s.NPlusOne != 1 || s.Rows != 7 ||
		s.P95Ms < 9.9 || s.MaxMs < 9.9 || s.Errors != 0 || strings.Join(s.Services, ",") != "api,worker" {
		t.Errorf("SELECT: %+v", s)
	}
	if len(s.Examples) != 2 || s.Examples[0].TraceID != "1-5f000001-bbbbbbbbbbbbbbbbbbbbbbbb" {
		t.Errorf("examples %+v", s.Examples)
	}
	if u := v.Statements[1]; u.Errors != 1 || u.NPlusOne != 0 {
		t.Errorf("UPDATE: %+v", u)
	}
	if len(v.Databases) != 1 || v.Databases[0].Calls != 6 || v.Databases[0].Errors != 1 || v.Databases[0].Slow != 1 ||
		v.Databases[0].PoolWaits != 1 || v.Databases[0].PoolWaitMs != 2.5 {
		t.Errorf("databases %+v", v.Databases)
	}

	var only store.DatabaseView
	getJSON(t, l, "/api/database?since=1h&service=worker", &only)
	if len(only.Statements) != 1 || only.Statements[0].Calls != 1 {
		t.Errorf("service=worker: %+v", only.Statements)
	}
}

// The service map and the database page answer from kept views: a write
// makes the next answer a new one.
func TestViewsFollowWrites(t *testing.T) {
	l := start(t)
	header := `{"format":"json","version":1}` + "\n"
	now := float64(time.Now().Unix())
	doc := func(i int) string {
		return fmt.Sprintf(`{"name":"svc-%d","id":"%016x","trace_id":"1-5f000002-%024x","start_time":%f,"end_time":%f,"subsegments":[{"name":"db","id":"%016x","start_time":%f,"end_time":%f,"namespace":"remote","sql":{"sanitized_query":"SELECT %d","url":"postgres://h/db"}}]}`,
			i, i+1, i+1, now, now+0.01, i+100, now, now+0.005, i)
	}
	for i := range 3 {
		var m store.ServiceMap
		var d store.DatabaseView
		for range 2 { // the second answer is the kept one
			if code := getJSON(t, l, "/api/services", &m); code != 200 {
				t.Fatalf("services: status %d", code)
			}
			if code := getJSON(t, l, "/api/database?since=1h", &d); code != 200 {
				t.Fatalf("database: status %d", code)
			}
		}
		if want := i + min(i, 1); len(m.Nodes) != want { // the services and their database
			t.Errorf("after %d traces: %d nodes, want %d", i, len(m.Nodes), want)
		}
		if got := len(d.Statements); got != i {
			t.Errorf("after %d traces: %d statements, want %d", i, got, i)
		}
		send(t, l, header+doc(i))
		stored(t, l, int64(i+1))
	}
}

// The scatter plot's points cover every matching trace of the range, not
// only the list's page: newest first, as [start, duration, status, id].
func TestScatterPoints(t *testing.T) {
	l := start(t)
	header := `{"format":"json","version":1}` + "\n"
	now := float64(time.Now().Unix())
	var docs []string
	for i := range 300 {
		docs = append(docs, header+fmt.Sprintf(`{"name":"svc","id":"%016x","trace_id":"1-5f000003-%024x","start_time":%f,"end_time":%f,"fault":%v}`,
			i+1, i+1, now+float64(i)/1000, now+float64(i)/1000+0.01, i%10 == 0))
	}
	send(t, l, docs...)
	stored(t, l, 300)
	var v struct {
		Points [][]any `json:"points"`
		Total  int     `json:"total"`
	}
	if code := getJSON(t, l, "/api/scatter?since=1h", &v); code != 200 {
		t.Fatalf("status %d", code)
	}
	if v.Total != 300 || len(v.Points) != 300 {
		t.Fatalf("%d points of %d, want 300 of 300", len(v.Points), v.Total)
	}
	first := v.Points[0]
	if len(first) != 4 || first[3] != fmt.Sprintf("1-5f000003-%024x", 300) || first[2].(float64) != 0 {
		t.Errorf("newest point %v", first)
	}
	if d := first[1].(float64); d < 0.0099 || d > 0.0101 {
		t.Errorf("duration %v, want 0.01", d)
	}
	if code := getJSON(t, l, "/api/scatter?since=1h&filter=fault", &v); code != 200 || v.Total != 30 || v.Points[0][2].(float64) != 1 {
		t.Errorf("faults: status %d, %d points, first %v", code, v.Total, v.Points[0])
	}
	if code := getJSON(t, l, "/api/scatter?filter=nonsense+%3D", &v); code != 400 {
		t.Errorf("a bad filter: status %d, want 400", code)
	}
}

// Past store.MaxPoints, the plot's points are a sample spread over the
// whole range, with every failure.
func TestScatterSample(t *testing.T) {
	l := start(t)
	const n = 5000
	now := float64(time.Now().Unix()) - 600
	var batch []daemon.Document
	for i := range n {
		d, err := daemon.ParseDocument([]byte(fmt.Sprintf(`{"name":"svc","id":"%016x","trace_id":"1-5f000004-%024x","start_time":%f,"end_time":%f,"fault":%v}`,
			i+1, i+1, now+float64(i)/10, now+float64(i)/10+0.01, i%100 == 7)))
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, d)
	}
	if err := l.Store.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Points  [][]any `json:"points"`
		Total   int     `json:"total"`
		Sampled bool    `json:"sampled"`
	}
	if code := getJSON(t, l, "/api/scatter?since=1h", &v); code != 200 {
		t.Fatalf("status %d", code)
	}
	if v.Total != n || !v.Sampled || len(v.Points) < store.MaxPoints/2 || len(v.Points) > store.MaxPoints {
		t.Fatalf("%d points of %d (sampled %v), want about %d", len(v.Points), v.Total, v.Sampled, store.MaxPoints*3/4+n/100)
	}
	faults := 0
	oldest, newest := v.Points[len(v.Points)-1][0].(float64), v.Points[0][0].(float64)
	for _, p := range v.Points {
		if p[2].(float64) == store.PointFault {
			faults++
		}
	}
	if faults != n/100 {
		t.Errorf("%d faults among the points, want all %d", faults, n/100)
	}
	if oldest > now+50 || newest < now+float64(n)/10-50 {
		t.Errorf("the points span %.0f to %.0f s after the first trace, want the whole 0 to %d s", oldest-now, newest-now, n/10)
	}
}
