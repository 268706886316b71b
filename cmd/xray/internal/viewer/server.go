// Package viewer serves the local trace viewer: a JSON API over the store,
// the web UI (embedded, no external assets) and the daemon's sampling API.
package viewer

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openxray/xray/cmd/xray/internal/daemon"
	"github.com/openxray/xray/cmd/xray/internal/store"
	"github.com/openxray/xray/sampling"
)

//go:embed ui
var uiFiles embed.FS

// Server is the viewer's HTTP handler.
type Server struct {
	Store   *store.Store
	Daemon  *daemon.Daemon // for /api/status; may be nil
	Rules   *Rules         // for the sampling API; nil serves the default rule
	Logger  *slog.Logger
	started time.Time
	mux     *http.ServeMux
	once    sync.Once
}

func (s *Server) init() {
	s.started = time.Now()
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Rules == nil {
		s.Rules = DefaultRules()
	}
	m := http.NewServeMux()
	ui, _ := fs.Sub(uiFiles, "ui")
	m.Handle("GET /", http.FileServerFS(ui))
	m.HandleFunc("GET /api/traces", s.traces)
	m.HandleFunc("GET /api/traces/{id}", s.trace)
	m.HandleFunc("GET /api/services", s.services)
	m.HandleFunc("GET /api/status", s.status)
	s.Rules.Register(m)
	s.mux = m
}

// ServeHTTP serves the UI and the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.once.Do(s.init)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// parseRange reads since (a duration such as 15m), from and to (Unix
// seconds or RFC 3339).
func parseRange(r *http.Request) (from, to time.Time, err error) {
	q := r.URL.Query()
	if v := q.Get("since"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return from, to, errors.New("since: want a duration such as 15m")
		}
		from = time.Now().Add(-d)
	}
	parse := func(v string) (time.Time, error) {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return time.Unix(0, int64(f*1e9)), nil
		}
		return time.Parse(time.RFC3339, v)
	}
	if v := q.Get("from"); v != "" {
		if from, err = parse(v); err != nil {
			return from, to, errors.New("from: want Unix seconds or RFC 3339")
		}
	}
	if v := q.Get("to"); v != "" {
		if to, err = parse(v); err != nil {
			return from, to, errors.New("to: want Unix seconds or RFC 3339")
		}
	}
	return from, to, nil
}

func (s *Server) traces(w http.ResponseWriter, r *http.Request) {
	from, to, err := parseRange(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	list, err := s.Store.Traces(r.Context(), store.Query{Filter: r.URL.Query().Get("filter"), From: from, To: to, Limit: limit})
	if err != nil {
		status := http.StatusInternalServerError
		if strings.HasPrefix(err.Error(), "filter:") {
			status = http.StatusBadRequest
		}
		writeError(w, status, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"traces": list})
}

func (s *Server) trace(w http.ResponseWriter, r *http.Request) {
	tr, err := s.Store.Trace(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err)
	case err != nil:
		writeError(w, http.StatusInternalServerError, err)
	default:
		writeJSON(w, http.StatusOK, tr)
	}
}

func (s *Server) services(w http.ResponseWriter, r *http.Request) {
	from, _, err := parseRange(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if from.IsZero() {
		from = time.Now().Add(-time.Hour)
	}
	m, err := s.Store.Services(r.Context(), from)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

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
	writeJSON(w, http.StatusOK, st)
}

// Rules serves the X-Ray daemon's sampling API (POST /GetSamplingRules,
// POST /SamplingTargets) from local rules, so SDKs set up for centralized
// sampling work on one machine.
type Rules struct {
	records  []ruleRecord
	modified float64
}

type ruleRecord struct {
	CreatedAt    float64      `json:"CreatedAt"`
	ModifiedAt   float64      `json:"ModifiedAt"`
	SamplingRule samplingRule `json:"SamplingRule"`
}

type samplingRule struct {
	RuleName      string            `json:"RuleName"`
	RuleARN       string            `json:"RuleARN"`
	ResourceARN   string            `json:"ResourceARN"`
	Priority      int               `json:"Priority"`
	FixedRate     float64           `json:"FixedRate"`
	ReservoirSize int64             `json:"ReservoirSize"`
	ServiceName   string            `json:"ServiceName"`
	ServiceType   string            `json:"ServiceType"`
	Host          string            `json:"Host"`
	HTTPMethod    string            `json:"HTTPMethod"`
	URLPath       string            `json:"URLPath"`
	Version       int               `json:"Version"`
	Attributes    map[string]string `json:"Attributes"`
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

// NewRules converts a local rules document into sampling rule records.
func NewRules(doc []byte) (*Rules, error) {
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
		rs.records = append(rs.records, ruleRecord{CreatedAt: now, ModifiedAt: now, SamplingRule: samplingRule{
			RuleName: name, RuleARN: "arn:aws:xray:local:000000000000:sampling-rule/" + name, ResourceARN: "*",
			Priority: prio, FixedRate: rule.Rate, ReservoirSize: rule.FixedTarget,
			ServiceName: "*", ServiceType: "*", Host: rule.Host, HTTPMethod: rule.Method, URLPath: rule.URLPath,
			Version: 1, Attributes: map[string]string{},
		}})
	}
	return rs, nil
}

// Register adds the sampling API to m.
func (rs *Rules) Register(m *http.ServeMux) {
	m.HandleFunc("POST /GetSamplingRules", rs.getRules)
	m.HandleFunc("POST /SamplingTargets", rs.targets)
}

// Handler serves the sampling API alone, for the daemon's TCP address.
func (rs *Rules) Handler() http.Handler {
	m := http.NewServeMux()
	rs.Register(m)
	return m
}

func (rs *Rules) getRules(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"SamplingRuleRecords": rs.records, "NextToken": nil})
}

func (rs *Rules) targets(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SamplingStatisticsDocuments []struct {
			RuleName string `json:"RuleName"`
		} `json:"SamplingStatisticsDocuments"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	byName := map[string]samplingRule{}
	for _, rec := range rs.records {
		byName[rec.SamplingRule.RuleName] = rec.SamplingRule
	}
	ttl := float64(time.Now().Add(10 * time.Second).Unix())
	targets := []map[string]any{}
	var unprocessed []map[string]any
	for _, d := range req.SamplingStatisticsDocuments {
		rule, ok := byName[d.RuleName]
		if !ok {
			unprocessed = append(unprocessed, map[string]any{"RuleName": d.RuleName, "ErrorCode": "400", "Message": "unknown rule"})
			continue
		}
		targets = append(targets, map[string]any{
			"RuleName": rule.RuleName, "FixedRate": rule.FixedRate, "ReservoirQuota": rule.ReservoirSize,
			"ReservoirQuotaTTL": ttl, "Interval": 10,
		})
	}
	if unprocessed == nil {
		unprocessed = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"SamplingTargetDocuments": targets, "LastRuleModification": rs.modified, "UnprocessedStatistics": unprocessed})
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
