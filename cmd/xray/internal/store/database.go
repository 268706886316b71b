package store

import (
	"context"
	"math"
	"slices"
	"sort"
	"time"
)

// DatabaseView aggregates the database calls of the stored traces: the
// viewer's database page.
type DatabaseView struct {
	Statements []StatementStats `json:"statements"`
	Databases  []DatabaseStats  `json:"databases"`
	// Truncated is true when the documents of the time range were more
	// than one answer reads (MaxServicesBytes): the newest were read.
	Truncated bool `json:"truncated"`
}

// StatementStats is one sanitized statement on one database, across
// traces.
type StatementStats struct {
	Database string   `json:"database"`
	Query    string   `json:"query"`
	Services []string `json:"services"`
	Calls    int      `json:"calls"`
	TotalMs  float64  `json:"total_ms"`
	AvgMs    float64  `json:"avg_ms"`
	P95Ms    float64  `json:"p95_ms"`
	MaxMs    float64  `json:"max_ms"`
	// Rows is the sum of the rows read or affected, where recorded.
	Rows   float64 `json:"rows"`
	Errors int     `json:"errors"`
	// NPlusOne counts the parents (a request, a transaction) in which
	// this read ran NPlusOneThreshold times or more.
	NPlusOne int `json:"n_plus_one"`
	Traces   int `json:"traces"`
	// Examples are up to five traces it ran in, the slowest call first.
	Examples []StatementExample `json:"examples"`

	durations []float64
	traces    map[string]bool
}

// StatementExample is a trace a statement ran in, with that call's time.
type StatementExample struct {
	TraceID string  `json:"trace_id"`
	Ms      float64 `json:"ms"`
}

// DatabaseStats sums up one database (a subsegment name such as
// test@127.0.0.1): its calls, failures, slow queries (annotated
// slow_query) and connection-pool waits (metadata pool_wait_ms).
type DatabaseStats struct {
	Name       string  `json:"name"`
	Calls      int     `json:"calls"`
	Errors     int     `json:"errors"`
	Slow       int     `json:"slow_queries"`
	PoolWaits  int     `json:"pool_waits"`
	PoolWaitMs float64 `json:"pool_wait_ms"`
}

// maxExamples bounds the example traces kept per statement.
const maxExamples = 5

// Database aggregates the database calls (entities with a sanitized
// statement) of the documents received since, of one service or all
// (service ""), sorted by total time.
func (s *Store) Database(ctx context.Context, since time.Time, service string) (*DatabaseView, error) {
	byTrace, truncated, err := s.recentDocuments(ctx, since)
	if err != nil {
		return nil, err
	}
	stats := map[string]*StatementStats{}
	dbs := map[string]*DatabaseStats{}
	for traceID, roots := range assembleAll(byTrace) {
		repeats := map[*Node]map[string]int{} // parent → statement key → calls
		walk(roots, func(n, parent *Node) {
			q, ok := n.Fields["sql"].(map[string]any)
			if !ok {
				return
			}
			query, _ := q["sanitized_query"].(string)
			if query == "" || (service != "" && n.service != service) {
				return
			}
			key := n.Name + "\x00" + query
			st := stats[key]
			if st == nil {
				st = &StatementStats{Database: n.Name, Query: query, traces: map[string]bool{}}
				stats[key] = st
			}
			d := (n.End - n.Start) * 1000
			st.Calls++
			st.durations = append(st.durations, d)
			st.TotalMs += d
			st.MaxMs = math.Max(st.MaxMs, d)
			failed := n.Fault || n.Error
			if failed {
				st.Errors++
			}
			if !slices.Contains(st.Services, n.service) && n.service != "" {
				st.Services = append(st.Services, n.service)
			}
			st.traces[traceID] = true
			st.Examples = addExample(st.Examples, traceID, d)
			md, _ := n.Fields["metadata"].(map[string]any)
			if sq, ok := md["sql"].(map[string]any); ok {
				for _, k := range []string{"rows_read", "rows_affected"} {
					if v, ok := sq[k].(float64); ok {
						st.Rows += v
						break
					}
				}
			}
			if parent != nil {
				if repeats[parent] == nil {
					repeats[parent] = map[string]int{}
				}
				repeats[parent][key]++
			}
			db := dbs[n.Name]
			if db == nil {
				db = &DatabaseStats{Name: n.Name}
				dbs[n.Name] = db
			}
			db.Calls++
			if failed {
				db.Errors++
			}
			if ann, ok := n.Fields["annotations"].(map[string]any); ok && ann["slow_query"] == true {
				db.Slow++
			}
			for _, ns := range []string{"database", "mongodb"} {
				if m, ok := md[ns].(map[string]any); ok {
					if w, ok := m["pool_wait_ms"].(float64); ok {
						db.PoolWaits++
						db.PoolWaitMs += w
					}
				}
			}
		})
		for _, byKey := range repeats {
			for key, n := range byKey {
				if st := stats[key]; n >= NPlusOneThreshold && isRead(st.Query) {
					st.NPlusOne++
				}
			}
		}
	}
	v := &DatabaseView{Statements: []StatementStats{}, Databases: []DatabaseStats{}, Truncated: truncated}
	for _, st := range stats {
		st.AvgMs = st.TotalMs / float64(st.Calls)
		st.P95Ms = percentile(st.durations, 0.95)
		st.Traces = len(st.traces)
		sort.Strings(st.Services)
		v.Statements = append(v.Statements, *st)
	}
	sort.Slice(v.Statements, func(i, j int) bool {
		a, b := &v.Statements[i], &v.Statements[j]
		if a.TotalMs != b.TotalMs {
			return a.TotalMs > b.TotalMs
		}
		return a.Query < b.Query
	})
	for _, db := range dbs {
		v.Databases = append(v.Databases, *db)
	}
	sort.Slice(v.Databases, func(i, j int) bool { return v.Databases[i].Name < v.Databases[j].Name })
	return v, nil
}

// addExample keeps the slowest call of each trace, up to maxExamples
// traces, slowest first.
func addExample(ex []StatementExample, traceID string, ms float64) []StatementExample {
	for i := range ex {
		if ex[i].TraceID == traceID {
			if ms > ex[i].Ms {
				ex[i].Ms = ms
				sort.Slice(ex, func(a, b int) bool { return ex[a].Ms > ex[b].Ms })
			}
			return ex
		}
	}
	if len(ex) == maxExamples && ms <= ex[len(ex)-1].Ms {
		return ex
	}
	if len(ex) == maxExamples {
		ex = ex[:len(ex)-1]
	}
	ex = append(ex, StatementExample{TraceID: traceID, Ms: ms})
	sort.Slice(ex, func(a, b int) bool { return ex[a].Ms > ex[b].Ms })
	return ex
}

// percentile returns the p-th percentile of ds (nearest rank); ds is
// sorted in place.
func percentile(ds []float64, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	sort.Float64s(ds)
	i := int(math.Ceil(p*float64(len(ds)))) - 1
	return ds[max(0, min(i, len(ds)-1))]
}
