// Package viewer serves the local trace viewer: a JSON API over the store,
// the web UI (embedded, no external assets) and the daemon's sampling API.
package viewer

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openxray/xray/cmd/xray/internal/daemon"
	"github.com/openxray/xray/cmd/xray/internal/otlpin"
	"github.com/openxray/xray/cmd/xray/internal/store"
	"github.com/openxray/xray/sampling"
)

//go:embed ui
var uiFiles embed.FS

// Server is the viewer's HTTP handler. It answers only requests whose
// Host is a loopback name or one of AllowedHosts, so that a web page
// cannot read the traces through DNS rebinding, and refuses POSTs whose
// Origin is another site.
type Server struct {
	Store  *store.Store
	Daemon *daemon.Daemon // for /api/status; may be nil
	// OTLP reports the OTLP receiver's counters in /api/status; may be nil.
	OTLP interface{ Stats() otlpin.Stats }
	// OTLPAddr is where the OTLP receiver listens, for /api/status.
	OTLPAddr string
	Rules    *Rules // for the sampling API; nil serves the default rule
	Logger   *slog.Logger
	// AllowedHosts are host names, besides localhost, 127.0.0.1 and ::1,
	// that requests may address: the name or address the viewer listens
	// on, when that is not loopback.
	AllowedHosts []string

	started time.Time
	mux     *http.ServeMux
	once    sync.Once
	// busy admits a few expensive requests (trace lists, traces, the
	// service map) at a time, so that their memory stays bounded.
	busy chan struct{}
	// views keeps the service map's and the database page's answers.
	views *views
}

// MaxConcurrentQueries is how many expensive API requests run at once;
// others wait up to QueryWait, then get 503.
const (
	MaxConcurrentQueries = 4
	QueryWait            = 5 * time.Second
)

func (s *Server) init() {
	s.started = time.Now()
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Rules == nil {
		s.Rules = DefaultRules()
	}
	s.busy = make(chan struct{}, MaxConcurrentQueries)
	s.views = newViews(s.Store)
	m := http.NewServeMux()
	ui, _ := fs.Sub(uiFiles, "ui")
	m.Handle("GET /", http.FileServerFS(ui))
	m.HandleFunc("GET /api/traces", s.limited(s.traces))
	m.HandleFunc("GET /api/traces/{id}", s.limited(s.trace))
	m.HandleFunc("GET /api/services", s.limited(s.services))
	m.HandleFunc("GET /api/database", s.limited(s.database))
	m.HandleFunc("GET /api/suggest", s.limited(s.suggest))
	m.HandleFunc("GET /api/scatter", s.limited(s.scatter))
	m.HandleFunc("GET /api/status", s.status)
	m.HandleFunc("GET /api/events", s.events)
	s.Rules.Register(m)
	s.mux = m
}

// ServeHTTP serves the UI and the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.once.Do(s.init)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !AllowedHost(r.Host, s.AllowedHosts) {
		writeError(w, http.StatusMisdirectedRequest, fmt.Errorf("host %q is not this viewer's: open it as http://127.0.0.1 or http://localhost", r.Host))
		return
	}
	if !sameOrigin(r, s.AllowedHosts) {
		writeError(w, http.StatusForbidden, errors.New("cross-origin request refused"))
		return
	}
	s.mux.ServeHTTP(w, r)
}

// AllowedHost reports whether a request's Host (with or without port)
// names this machine's loopback or one of extra.
func AllowedHost(host string, extra []string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, e := range extra {
		if e != "" && strings.EqualFold(h, strings.Trim(e, "[]")) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether a state-changing request (anything but GET
// and HEAD) comes from no browser page, or from one of this viewer's.
func sameOrigin(r *http.Request, extra []string) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser's cross-site request
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && AllowedHost(u.Host, extra)
}

// limited admits h when fewer than MaxConcurrentQueries such requests
// run, waiting up to QueryWait for a place.
func (s *Server) limited(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(QueryWait)
		defer t.Stop()
		select {
		case s.busy <- struct{}{}:
			defer func() { <-s.busy }()
			h(w, r)
		case <-t.C:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, errors.New("the viewer is busy with other queries; try again"))
		case <-r.Context().Done():
		}
	}
}

// writeJSON encodes v before answering, so that a value that cannot be
// encoded yields a 500 with a message, never an empty 200.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(map[string]string{"error": "the answer could not be encoded: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// storeError answers a failure of the store: the details go to the log,
// not to the client (they are SQLite's, and say nothing useful there).
func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client left
	}
	s.Logger.Error("viewer: store query failed", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, errors.New("the store could not answer this query; see the xray local log"))
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// parseRange reads since (a positive duration such as 15m), from and to
// (Unix seconds or RFC 3339, between 1970 and daemon.MaxTime).
func parseRange(r *http.Request) (from, to time.Time, err error) {
	q := r.URL.Query()
	if v := q.Get("since"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return from, to, errors.New("since: want a positive duration such as 15m")
		}
		from = time.Now().Add(-d)
	}
	parse := func(v string) (time.Time, error) {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			if !(f >= 0 && f < daemon.MaxTime) {
				return time.Time{}, errors.New("out of range")
			}
			return time.Unix(0, int64(f*1e9)), nil
		}
		t, err := time.Parse(time.RFC3339, v)
		if err == nil && (t.Unix() < 0 || float64(t.Unix()) >= daemon.MaxTime) {
			err = errors.New("out of range")
		}
		return t, err
	}
	if v := q.Get("from"); v != "" {
		if from, err = parse(v); err != nil {
			return from, to, errors.New("from: want Unix seconds or RFC 3339, between 1970 and 2286")
		}
	}
	if v := q.Get("to"); v != "" {
		if to, err = parse(v); err != nil {
			return from, to, errors.New("to: want Unix seconds or RFC 3339, between 1970 and 2286")
		}
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return from, to, errors.New("to is before from")
	}
	return from, to, nil
}

func (s *Server) traces(w http.ResponseWriter, r *http.Request) {
	from, to, err := parseRange(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			writeError(w, http.StatusBadRequest, errors.New("limit: want a number from 1 to 1000"))
			return
		}
	}
	list, err := s.Store.Traces(r.Context(), store.Query{Filter: r.URL.Query().Get("filter"), From: from, To: to, Limit: limit})
	s.answerQuery(w, r, err, map[string]any{"traces": list})
}

// answerQuery answers a query over the traces: its answer, or 400 for a
// filter the store refused, or the store's failure.
func (s *Server) answerQuery(w http.ResponseWriter, r *http.Request, err error, answer any) {
	var fe *store.FilterError
	switch {
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, err)
	case err != nil:
		s.storeError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, answer)
	}
}

// scatter answers the scatter plot: the traces matching the filter and
// range as [start, duration, status, id], up to store.MaxPoints of them
// (a sample over the range when more match: sampled), and how many match
// in all. The answer is a kept view (views.go): sampling reads every
// matching trace.
func (s *Server) scatter(w http.ResponseWriter, r *http.Request) {
	rs, err := parseSpec(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	q := r.URL.Query()
	filter, to := q.Get("filter"), q.Get("to")
	if err := store.CheckFilter(filter); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	_, toTime, _ := parseRange(r) // checked by parseSpec
	s.answerView(w, r, rs.key("scatter", filter, to), rs.maxAge(), s.scatterFor(rs, filter, toTime))
}

func (s *Server) scatterFor(rs rangeSpec, filter string, to time.Time) func(ctx context.Context) (any, error) {
	return func(ctx context.Context) (any, error) {
		points, total, sampled, err := s.Store.Points(ctx, store.Query{Filter: filter, From: rs.start(), To: to})
		if err != nil {
			return nil, err
		}
		return map[string]any{"points": points, "total": total, "sampled": sampled}, nil
	}
}

func (s *Server) trace(w http.ResponseWriter, r *http.Request) {
	// The id as sent, before unescaping: %61 is not an a.
	raw := strings.TrimPrefix(r.URL.EscapedPath(), "/api/traces/")
	if !daemon.IsTraceID(raw) {
		writeError(w, http.StatusBadRequest, errors.New("trace id: want 1-<8 hex digits>-<24 hex digits>"))
		return
	}
	tr, err := s.Store.Trace(r.Context(), raw)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err)
	case err != nil:
		s.storeError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, tr)
	}
}

func (s *Server) services(w http.ResponseWriter, r *http.Request) {
	rs, err := parseSpec(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	s.answerView(w, r, rs.key("services"), rs.maxAge(), s.servicesFor(rs))
}

// answerView answers with the kept view key, computed by compute when
// there is none fresh (views.go).
func (s *Server) answerView(w http.ResponseWriter, r *http.Request, key string, maxAge time.Duration, compute func(ctx context.Context) (any, error)) {
	body, err := s.views.get(r.Context(), key, maxAge, compute)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// eventsHeartbeat is how often an idle event stream sends a comment, so
// that proxies and the browser keep it open.
const eventsHeartbeat = 15 * time.Second

// events streams server-sent events: "traces" with the IDs of the traces
// each stored batch wrote, as a JSON array. The viewer's list listens to
// it to show new traces without a reload. Each stream is one of the
// store's bounded subscribers: past them, 503.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	ch, cancel := s.Store.Subscribe()
	defer cancel()
	if ch == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("too many live listeners"))
		return
	}
	rc := http.NewResponseController(w)
	// The server's write timeout is for answers, not for a stream.
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, ": live traces\nretry: 2000\n\n"); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(eventsHeartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case ids := <-ch:
			b, _ := json.Marshal(ids)
			if _, err := fmt.Fprintf(w, "event: traces\ndata: %s\n\n", b); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

// database answers the database page: statements aggregated across the
// traces received in the range (since=1h by default), of one service
// (service=name) or all, and a summary per database.
func (s *Server) database(w http.ResponseWriter, r *http.Request) {
	rs, err := parseSpec(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	service := r.URL.Query().Get("service")
	s.answerView(w, r, rs.key("database", service), rs.maxAge(), s.databaseFor(rs, service))
}

// suggest answers the search builder: services, root names, annotation
// keys and their most common values.
func (s *Server) suggest(w http.ResponseWriter, r *http.Request) {
	s.answerView(w, r, "suggest", maxAge(0), s.suggestions)
}

func (s *Server) suggestions(ctx context.Context) (any, error) { return s.Store.Suggest(ctx) }

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st := map[string]any{
		"service":        "openxray-local",
		"uptime_seconds": int(time.Since(s.started).Seconds()),
		"store":          s.Store.Stats(r.Context()),
		"pid":            os.Getpid(),
	}
	if s.Daemon != nil {
		st["daemon"] = s.Daemon.Stats()
		st["udp"] = s.Daemon.Addr().String()
	}
	if s.OTLP != nil {
		st["otlp"] = s.OTLP.Stats()
		st["otlp_addr"] = s.OTLPAddr
	}
	writeJSON(w, http.StatusOK, st)
}

// Rules serves the X-Ray daemon's sampling API (POST /GetSamplingRules,
// POST /SamplingTargets) from local rules, so SDKs set up for centralized
// sampling work on one machine.
type Rules struct {
	records  []sampling.SamplingRuleRecord
	modified float64
}

// DefaultRules is the default rule alone: 1 per second and 5 %.
func DefaultRules() *Rules {
	r, _ := NewRules([]byte(sampling.DefaultRulesJSON))
	return r
}

// LoadRules reads a local rules file (the X-Ray SDKs' version 1 or 2
// format) for the sampling API.
func LoadRules(path string) (*Rules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return NewRules(b)
}

// NewRules converts a rules document into sampling rule records: the X-Ray
// SDKs' local rules (version 1 or 2), or X-Ray's own rules as
// "aws xray get-sampling-rules" prints them ({"SamplingRuleRecords": [...]}),
// which can name attributes.
func NewRules(doc []byte) (*Rules, error) {
	var central struct {
		Records []sampling.SamplingRuleRecord `json:"SamplingRuleRecords"`
	}
	if json.Unmarshal(doc, &central) == nil && len(central.Records) > 0 {
		return centralRules(central.Records)
	}
	s, err := sampling.NewLocalizedStrategyFromJSONBytes(doc)
	if err != nil {
		return nil, err
	}
	now := float64(time.Now().Unix())
	rs := &Rules{modified: now}
	rules := s.Rules()
	for i, rule := range rules {
		name, prio := rule.Name, i+1
		if name == "" {
			name = "Rule" + strconv.Itoa(i+1)
		}
		if i == len(rules)-1 {
			name, prio = "Default", 10000
		}
		rs.records = append(rs.records, sampling.SamplingRuleRecord{CreatedAt: now, ModifiedAt: now, SamplingRule: &sampling.SamplingRule{
			RuleName: name, RuleARN: "arn:aws:xray:local:000000000000:sampling-rule/" + name, ResourceARN: "*",
			Priority: prio, FixedRate: rule.Rate, ReservoirSize: rule.FixedTarget,
			ServiceName: "*", ServiceType: "*", Host: rule.Host, HTTPMethod: rule.Method, URLPath: rule.URLPath,
			Version: 1, Attributes: map[string]string{},
		}})
	}
	return rs, nil
}

// centralRules keeps X-Ray's rule records as they are, checked: a rule
// needs a name, a rate between 0 and 1, and one rule must be Default.
func centralRules(records []sampling.SamplingRuleRecord) (*Rules, error) {
	now := float64(time.Now().Unix())
	rs := &Rules{modified: now}
	hasDefault := false
	for i, rec := range records {
		if rec.SamplingRule == nil {
			return nil, fmt.Errorf("sampling rule record %d has no SamplingRule", i+1)
		}
		r := *rec.SamplingRule
		switch {
		case r.RuleName == "":
			return nil, fmt.Errorf("sampling rule %d has no RuleName", i+1)
		case r.FixedRate < 0 || r.FixedRate > 1:
			return nil, fmt.Errorf("sampling rule %s: FixedRate %v is not between 0 and 1", r.RuleName, r.FixedRate)
		case r.ReservoirSize < 0:
			return nil, fmt.Errorf("sampling rule %s: negative ReservoirSize", r.RuleName)
		}
		hasDefault = hasDefault || r.RuleName == "Default"
		for _, f := range []*string{&r.ResourceARN, &r.ServiceName, &r.ServiceType, &r.Host, &r.HTTPMethod, &r.URLPath} {
			if *f == "" {
				*f = "*"
			}
		}
		if r.RuleARN == "" {
			r.RuleARN = "arn:aws:xray:local:000000000000:sampling-rule/" + r.RuleName
		}
		if r.Version == 0 {
			r.Version = 1
		}
		if r.Attributes == nil {
			r.Attributes = map[string]string{}
		}
		if rec.CreatedAt == 0 {
			rec.CreatedAt = now
		}
		if rec.ModifiedAt == 0 {
			rec.ModifiedAt = now
		}
		rec.SamplingRule = &r
		rs.records = append(rs.records, rec)
	}
	if !hasDefault {
		return nil, errors.New("sampling rules: a rule named Default is required")
	}
	return rs, nil
}

// Register adds the sampling API to m.
func (rs *Rules) Register(m *http.ServeMux) {
	m.HandleFunc("POST /GetSamplingRules", rs.getRules)
	m.HandleFunc("POST /SamplingTargets", rs.targets)
}

// Handler serves the sampling API alone, for the daemon's TCP address.
// Like the viewer it refuses POSTs from another site's pages.
func (rs *Rules) Handler() http.Handler {
	m := http.NewServeMux()
	rs.Register(m)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !sameOrigin(r, nil) {
			writeError(w, http.StatusForbidden, errors.New("cross-origin request refused"))
			return
		}
		m.ServeHTTP(w, r)
	})
}

func (rs *Rules) getRules(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, sampling.GetSamplingRulesOutput{SamplingRuleRecords: rs.records})
}

func (rs *Rules) targets(w http.ResponseWriter, r *http.Request) {
	var req sampling.GetSamplingTargetsInput
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	byName := map[string]*sampling.SamplingRule{}
	for _, rec := range rs.records {
		byName[rec.SamplingRule.RuleName] = rec.SamplingRule
	}
	ttl := float64(time.Now().Add(10 * time.Second).Unix())
	interval := int64(10)
	out := sampling.GetSamplingTargetsOutput{
		SamplingTargetDocuments: []sampling.SamplingTargetDocument{},
		LastRuleModification:    &rs.modified,
		UnprocessedStatistics:   []sampling.UnprocessedStatistics{},
	}
	for _, d := range req.SamplingStatisticsDocuments {
		rule, ok := byName[d.RuleName]
		if !ok {
			out.UnprocessedStatistics = append(out.UnprocessedStatistics, sampling.UnprocessedStatistics{RuleName: d.RuleName, ErrorCode: "400", Message: "unknown rule"})
			continue
		}
		out.SamplingTargetDocuments = append(out.SamplingTargetDocuments, sampling.SamplingTargetDocument{
			RuleName: rule.RuleName, FixedRate: &rule.FixedRate, ReservoirQuota: &rule.ReservoirSize,
			ReservoirQuotaTTL: &ttl, Interval: &interval,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// ServeTCP serves the sampling API on addr until ctx is done, as the AWS
// daemon does on its TCP port.
func (rs *Rules) ServeTCP(ctx context.Context, srv *http.Server) error {
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	err := srv.ListenAndServe()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
