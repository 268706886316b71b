package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openxray/xray/segtree"
)

// Summary is one row of the trace list.
type Summary struct {
	TraceID     string            `json:"trace_id"`
	Name        string            `json:"name"`
	Start       float64           `json:"start_time"`
	Duration    float64           `json:"duration"`
	HTTPStatus  int               `json:"http_status,omitempty"`
	Fault       bool              `json:"fault"`
	Error       bool              `json:"error"`
	Throttle    bool              `json:"throttle"`
	Documents   int               `json:"documents"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Query selects traces: a filter expression and a time range on the
// traces' start (zero times leave that end open).
type Query struct {
	Filter   string
	From, To time.Time
	Limit    int
}

// Traces lists the traces matching q, newest first.
func (s *Store) Traces(ctx context.Context, q Query) ([]Summary, error) {
	cond, args, err := q.where()
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, `SELECT t.trace_id, t.root_name, t.start_time, t.end_time - t.start_time, coalesce(t.http_status, 0), t.fault, t.error, t.throttle, t.documents
		FROM traces t WHERE `+cond+` ORDER BY t.start_time DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []Summary{}
	index := map[string]int{}
	for rows.Next() {
		var sm Summary
		if err := rows.Scan(&sm.TraceID, &sm.Name, &sm.Start, &sm.Duration, &sm.HTTPStatus, &sm.Fault, &sm.Error, &sm.Throttle, &sm.Documents); err != nil {
			return nil, err
		}
		// Rows stored before ingest checked times may hold infinities.
		sm.Start, sm.Duration = finite(sm.Start), finite(sm.Duration)
		index[sm.TraceID] = len(list)
		list = append(list, sm)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return list, nil
	}
	ids := make([]any, 0, len(list))
	for _, sm := range list {
		ids = append(ids, sm.TraceID)
	}
	arows, err := s.db.QueryContext(ctx, `SELECT trace_id, key, value FROM annotations WHERE trace_id IN (?`+strings.Repeat(",?", len(ids)-1)+`)`, ids...)
	if err != nil {
		return nil, err
	}
	defer arows.Close()
	for arows.Next() {
		var id, k, v string
		if err := arows.Scan(&id, &k, &v); err != nil {
			return nil, err
		}
		sm := &list[index[id]]
		if sm.Annotations == nil {
			sm.Annotations = map[string]string{}
		}
		sm.Annotations[k] = v
	}
	return list, arows.Err()
}

// MaxPoints bounds the scatter plot's points.
const MaxPoints = 2000

// Point is one trace in the scatter plot: its start (Unix seconds), its
// duration (seconds), its status (Fault|Error|Throttle bits) and its ID.
type Point struct {
	Start, Duration float64
	Status          int
	TraceID         string
}

// Point status bits.
const (
	PointFault = 1 << iota
	PointError
	PointThrottle
)

// Points is a list of points, encoded as one JSON array of arrays.
type Points []Point

// MarshalJSON encodes ps as [[start, duration, status, id], ...], by hand:
// thousands of them are one scatter plot's answer.
func (ps Points) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(ps)*72)
	b = append(b, '[')
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendFloat(b, p.Start, 'f', 6, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, p.Duration, 'g', 6, 64)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(p.Status), 10)
		b = append(b, ',')
		b = strconv.AppendQuote(b, p.TraceID) // a checked trace ID: ASCII
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

// Points returns up to q.Limit (at most MaxPoints) of the traces matching
// q as points for the scatter plot, newest first, and how many match in
// all. When more match, they are a sample spread over the whole range
// (sampled is true): every trace with a fault, error or throttle, and of
// the others one in k, picked by a hash of the row so that no pattern in
// the data lines up with the stride.
func (s *Store) Points(ctx context.Context, q Query) (points Points, total int, sampled bool, err error) {
	cond, args, err := q.where()
	if err != nil {
		return nil, 0, false, err
	}
	limit := q.Limit
	if limit <= 0 || limit > MaxPoints {
		limit = MaxPoints
	}
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM traces t WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, false, err
	}
	if total > limit {
		// Three quarters of the points for the sample, the rest for the
		// failures; past the limit, the newest.
		k := (total + limit*3/4 - 1) / (limit * 3 / 4)
		cond = "(" + cond + ") AND ((t.rowid * 2654435761) % ? = 0 OR t.fault OR t.error OR t.throttle)"
		args = append(args, k)
		sampled = true
	}
	rows, err := s.db.QueryContext(ctx, `SELECT t.trace_id, t.start_time, t.end_time - t.start_time, t.fault, t.error, t.throttle
		FROM traces t WHERE `+cond+` ORDER BY t.start_time DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, 0, false, err
	}
	defer rows.Close()
	points = Points{}
	for rows.Next() {
		var p Point
		var fault, errFlag, throttle bool
		if err := rows.Scan(&p.TraceID, &p.Start, &p.Duration, &fault, &errFlag, &throttle); err != nil {
			return nil, 0, false, err
		}
		p.Start, p.Duration = finite(p.Start), finite(p.Duration)
		if fault {
			p.Status |= PointFault
		}
		if errFlag {
			p.Status |= PointError
		}
		if throttle {
			p.Status |= PointThrottle
		}
		points = append(points, p)
	}
	return points, total, sampled, rows.Err()
}

// where compiles q's filter and range into a condition on traces t.
func (q Query) where() (string, []any, error) {
	cond, args, err := compileFilter(q.Filter)
	if err != nil {
		return "", nil, &FilterError{err}
	}
	if !q.From.IsZero() {
		cond += " AND t.start_time >= ?"
		args = append(args, float64(q.From.UnixNano())/1e9)
	}
	if !q.To.IsZero() {
		cond += " AND t.start_time <= ?"
		args = append(args, float64(q.To.UnixNano())/1e9)
	}
	return cond, args, nil
}

// FilterError says why a filter expression was refused.
type FilterError struct{ Err error }

func (e *FilterError) Error() string { return e.Err.Error() }
func (e *FilterError) Unwrap() error { return e.Err }

// ErrNotFound is returned for an unknown trace.
var ErrNotFound = errors.New("store: trace not found")

// Trace is a whole trace: its documents as received, assembled into a tree,
// and its statements.
type Trace struct {
	TraceID   string            `json:"trace_id"`
	Documents []json.RawMessage `json:"documents"`
	Roots     []*Node           `json:"roots"`
	Start     float64           `json:"start_time"`
	End       float64           `json:"end_time"`
	SQL       []Statement       `json:"sql"`
	// Truncated is true when the trace has more documents than one answer
	// carries (MaxTraceDocuments, MaxTraceBytes): the earliest are here,
	// and DocumentsTotal says how many there are.
	Truncated      bool `json:"truncated"`
	DocumentsTotal int  `json:"documents_total"`
}

// Limits of one trace's answer, so that a trace of thousands of large
// documents costs bounded time and memory.
const (
	MaxTraceDocuments = 2000
	MaxTraceBytes     = 8 << 20
)

// Node is a segment or subsegment in an assembled trace.
type Node struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Kind       string         `json:"kind"` // segment, subsegment
	Namespace  string         `json:"namespace,omitempty"`
	Start      float64        `json:"start_time"`
	End        float64        `json:"end_time"`
	InProgress bool           `json:"in_progress,omitempty"`
	Fault      bool           `json:"fault,omitempty"`
	Error      bool           `json:"error,omitempty"`
	Throttle   bool           `json:"throttle,omitempty"`
	Fields     map[string]any `json:"fields"` // sql, http, aws, annotations, metadata, cause...
	Children   []*Node        `json:"children,omitempty"`

	parentID string
	parent   *Node
	service  string // name of the segment the node belongs to
}

// Statement is one database call of a trace, for the SQL view.
type Statement struct {
	ID       string  `json:"id"`
	Database string  `json:"database"`
	Query    string  `json:"query"`
	Start    float64 `json:"start_time"`
	Duration float64 `json:"duration"`
	Rows     any     `json:"rows,omitempty"`
	Failed   bool    `json:"failed,omitempty"`
	// Repeated counts identical sanitized statements in the trace; reads
	// repeated three times or more flag a probable N+1 pattern.
	Repeated int  `json:"repeated"`
	NPlusOne bool `json:"n_plus_one"`
}

// NPlusOneThreshold is how many identical statements in one trace flag an
// N+1 pattern.
const NPlusOneThreshold = 3

// Trace loads and assembles one trace, up to MaxTraceDocuments documents
// and MaxTraceBytes of them, the earliest first.
func (s *Store) Trace(ctx context.Context, traceID string) (*Trace, error) {
	tr := &Trace{TraceID: traceID}
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM documents WHERE trace_id = ?`, traceID).Scan(&tr.DocumentsTotal); err != nil {
		return nil, err
	}
	if tr.DocumentsTotal == 0 {
		return nil, ErrNotFound
	}
	rows, err := s.db.QueryContext(ctx, `SELECT doc FROM documents WHERE trace_id = ? ORDER BY start_time LIMIT ?`, traceID, MaxTraceDocuments)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	size := 0
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		if size += len(doc); size > MaxTraceBytes {
			break
		}
		tr.Documents = append(tr.Documents, json.RawMessage(doc))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	tr.Truncated = len(tr.Documents) < tr.DocumentsTotal
	tr.Roots = Assemble(tr.Documents)
	tr.Start, tr.End = span(tr.Roots)
	tr.SQL = statements(tr.Roots)
	return tr, nil
}

// Assemble builds the tree of a trace from its documents, received in any
// order: subsegments sent alone go under their parent, and segments called
// from another service go under the subsegment that called them.
func Assemble(docs []json.RawMessage) []*Node {
	ms := make([]map[string]any, 0, len(docs))
	for _, raw := range docs {
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil {
			ms = append(ms, m)
		}
	}
	// Subsegments sent alone go under their parents first; what is left
	// at the top is segments and orphans.
	segments, orphans := segtree.Link(ms)
	byID := map[string]*Node{}
	var tops []*Node
	for _, m := range append(segments, orphans...) {
		n := build(m, byID, "")
		if n == nil {
			continue
		}
		if t, _ := m["type"].(string); t != "subsegment" {
			n.Kind = "segment"
		}
		tops = append(tops, n)
	}
	// A segment called from another service goes under the subsegment
	// that called it, unless that would close a cycle of parent links:
	// then it is shown as a root, never dropped.
	roots := []*Node{}
	for _, n := range tops {
		if p, ok := byID[n.parentID]; ok && n.parentID != "" && !ancestorOrSelf(n, p) {
			p.Children = append(p.Children, n)
			n.parent = p
			continue
		}
		roots = append(roots, n)
	}
	// Subsegments sent alone learn their service from where they landed.
	walk(roots, func(n, parent *Node) {
		if n.service == "" && parent != nil {
			n.service = parent.service
		}
	})
	var sortTree func([]*Node)
	sortTree = func(ns []*Node) {
		sort.SliceStable(ns, func(i, j int) bool { return ns[i].Start < ns[j].Start })
		for _, n := range ns {
			sortTree(n.Children)
		}
	}
	sortTree(roots)
	return roots
}

// ancestorOrSelf reports whether n is p or one of p's ancestors.
func ancestorOrSelf(n, p *Node) bool {
	for ; p != nil; p = p.parent {
		if p == n {
			return true
		}
	}
	return false
}

// finite returns f, or 0 when it is not a finite number.
func finite(f float64) float64 {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0
	}
	return f
}

func build(m map[string]any, byID map[string]*Node, service string) *Node {
	id, _ := m["id"].(string)
	if id == "" {
		return nil
	}
	n := &Node{ID: id, Kind: "subsegment", Fields: map[string]any{}}
	n.Name, _ = m["name"].(string)
	n.Namespace, _ = m["namespace"].(string)
	n.Start, _ = m["start_time"].(float64)
	n.End, _ = m["end_time"].(float64)
	n.Start, n.End = finite(n.Start), finite(n.End)
	n.InProgress, _ = m["in_progress"].(bool)
	n.Fault, _ = m["fault"].(bool)
	n.Error, _ = m["error"].(bool)
	n.Throttle, _ = m["throttle"].(bool)
	n.parentID, _ = m["parent_id"].(string)
	if t, _ := m["type"].(string); t != "subsegment" && service == "" {
		service = n.Name
	}
	n.service = service
	if n.End < n.Start {
		n.End = n.Start
	}
	for k, v := range m {
		switch k {
		case "subsegments", "name", "id", "start_time", "end_time", "namespace", "in_progress", "fault", "error", "throttle":
		default:
			n.Fields[k] = v
		}
	}
	if old, ok := byID[id]; !ok || old.InProgress {
		byID[id] = n
	}
	subs, _ := m["subsegments"].([]any)
	for _, s := range subs {
		if sm, ok := s.(map[string]any); ok {
			if c := build(sm, byID, service); c != nil {
				c.parent = n
				n.Children = append(n.Children, c)
			}
		}
	}
	return n
}

func span(roots []*Node) (start, end float64) {
	for i, n := range roots {
		if i == 0 || n.Start < start {
			start = n.Start
		}
		if n.End > end {
			end = n.End
		}
	}
	return start, end
}

func walk(ns []*Node, fn func(n, parent *Node)) {
	var rec func(n, parent *Node)
	rec = func(n, parent *Node) {
		fn(n, parent)
		for _, c := range n.Children {
			rec(c, n)
		}
	}
	for _, n := range ns {
		rec(n, nil)
	}
}

func statements(roots []*Node) []Statement {
	out := []Statement{}
	counts := map[string]int{}
	walk(roots, func(n, _ *Node) {
		q, ok := n.Fields["sql"].(map[string]any)
		if !ok {
			return
		}
		query, _ := q["sanitized_query"].(string)
		if query == "" {
			return
		}
		st := Statement{ID: n.ID, Database: n.Name, Query: query, Start: n.Start, Duration: n.End - n.Start, Failed: n.Fault || n.Error}
		if md, ok := n.Fields["metadata"].(map[string]any); ok {
			if sq, ok := md["sql"].(map[string]any); ok {
				if v, ok := sq["rows_read"]; ok {
					st.Rows = v
				} else if v, ok := sq["rows_affected"]; ok {
					st.Rows = v
				}
			}
		}
		counts[n.Name+"\x00"+query]++
		out = append(out, st)
	})
	for i := range out {
		out[i].Repeated = counts[out[i].Database+"\x00"+out[i].Query]
		out[i].NPlusOne = out[i].Repeated >= NPlusOneThreshold && isRead(out[i].Query)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// ServiceMap is the graph of services and the resources they call.
type ServiceMap struct {
	Nodes []ServiceNode `json:"nodes"`
	Edges []ServiceEdge `json:"edges"`
	// Truncated is true when the documents of the time range were more
	// than one answer reads (MaxServicesBytes): the newest were read.
	Truncated bool `json:"truncated"`
}

// MaxServicesBytes bounds the documents read for one service map.
const MaxServicesBytes = 16 << 20

// ServiceNode is a service (from segments) or a resource (from remote and
// aws subsegments).
type ServiceNode struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"` // service, remote, aws
	Calls int    `json:"calls"`
	// Faults and Errors count the calls that failed (fault: 5xx and
	// other failures; error: 4xx), for the node's health.
	Faults int `json:"faults"`
	Errors int `json:"errors"`
}

// ServiceEdge is a caller → callee link.
type ServiceEdge struct {
	From      string  `json:"from"`
	To        string  `json:"to"`
	Calls     int     `json:"calls"`
	Errors    int     `json:"errors"`
	AvgMillis float64 `json:"avg_ms"`
	ErrorRate float64 `json:"error_rate"`
	total     float64
}

// Services builds the service map from the documents received since.
func (s *Store) Services(ctx context.Context, since time.Time) (*ServiceMap, error) {
	byTrace, truncated, err := s.recentDocuments(ctx, since)
	if err != nil {
		return nil, err
	}
	nodes := map[string]*ServiceNode{}
	edges := map[[2]string]*ServiceEdge{}
	node := func(name, kind string, x *Node) {
		n := nodes[name]
		if n == nil {
			n = &ServiceNode{Name: name, Kind: kind}
			nodes[name] = n
		}
		n.Calls++
		if x.Fault {
			n.Faults++
		} else if x.Error || x.Throttle {
			n.Errors++
		}
	}
	edge := func(from, to string, d float64, failed bool) {
		e := edges[[2]string{from, to}]
		if e == nil {
			e = &ServiceEdge{From: from, To: to}
			edges[[2]string{from, to}] = e
		}
		e.Calls++
		e.total += d
		if failed {
			e.Errors++
		}
	}
	for _, roots := range assembleAll(byTrace) {
		walk(roots, func(n, parent *Node) {
			switch {
			case n.Kind == "segment":
				node(n.Name, "service", n)
				if parent != nil {
					edge(parent.service, n.Name, n.End-n.Start, n.Fault || n.Error)
				}
			case n.Namespace == "remote" || n.Namespace == "aws":
				// A call answered by a traced service is drawn to that
				// service, from the segment below it.
				for _, c := range n.Children {
					if c.Kind == "segment" {
						return
					}
				}
				kind := n.Namespace
				node(n.Name, kind, n)
				edge(n.service, n.Name, n.End-n.Start, n.Fault || n.Error)
			}
		})
	}
	sm := &ServiceMap{Nodes: []ServiceNode{}, Edges: []ServiceEdge{}, Truncated: truncated}
	for _, n := range nodes {
		sm.Nodes = append(sm.Nodes, *n)
	}
	for _, e := range edges {
		e.AvgMillis = e.total / float64(e.Calls) * 1000
		e.ErrorRate = float64(e.Errors) / float64(e.Calls)
		sm.Edges = append(sm.Edges, *e)
	}
	sort.Slice(sm.Nodes, func(i, j int) bool { return sm.Nodes[i].Name < sm.Nodes[j].Name })
	sort.Slice(sm.Edges, func(i, j int) bool {
		if sm.Edges[i].From != sm.Edges[j].From {
			return sm.Edges[i].From < sm.Edges[j].From
		}
		return sm.Edges[i].To < sm.Edges[j].To
	})
	return sm, nil
}

// assembleAll assembles each trace's documents, on every core: parsing
// them is most of a service map's or database page's work.
func assembleAll(byTrace map[string][]json.RawMessage) map[string][]*Node {
	ids := make([]string, 0, len(byTrace))
	for id := range byTrace {
		ids = append(ids, id)
	}
	trees := make([][]*Node, len(ids))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				trees[i] = Assemble(byTrace[ids[i]])
			}
		})
	}
	wg.Wait()
	out := make(map[string][]*Node, len(ids))
	for i, id := range ids {
		out[id] = trees[i]
	}
	return out
}

// recentDocuments reads the documents received since, newest first, by
// trace, up to MaxServicesBytes of them (truncated says when more were
// left out).
func (s *Store) recentDocuments(ctx context.Context, since time.Time) (map[string][]json.RawMessage, bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT trace_id, doc FROM documents WHERE received >= ? ORDER BY received DESC LIMIT 50000`, since.UnixNano())
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	byTrace := map[string][]json.RawMessage{}
	size, truncated := 0, false
	for rows.Next() {
		var id, doc string
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, false, err
		}
		if size += len(doc); size > MaxServicesBytes {
			truncated = true
			break
		}
		byTrace[id] = append(byTrace[id], json.RawMessage(doc))
	}
	if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, false, err
	}
	return byTrace, truncated, nil
}

// isRead reports whether a statement reads (SELECT, or WITH ... SELECT):
// repeated writes are batches, repeated reads the N+1 pattern.
func isRead(q string) bool {
	q = strings.TrimLeft(q, " \t\n(")
	return len(q) >= 6 && (strings.EqualFold(q[:6], "select") || strings.EqualFold(q[:4], "with"))
}
