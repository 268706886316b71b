package sampling

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"time"
)

// DefaultRulesJSON is the rule set used when none is configured: one request
// per second, then five percent of the others.
const DefaultRulesJSON = `{"version": 2, "default": {"fixed_target": 1, "rate": 0.05}}`

// LocalizedStrategy samples with rules held in memory, without talking to
// X-Ray. It is safe for concurrent use.
type LocalizedStrategy struct {
	rules []*Rule
	def   *Rule
}

// Rule is one local sampling rule. Rules are matched in the order of the
// document; the first that matches decides.
type Rule struct {
	// Name is recorded as the segment's aws.xray.sampling_rule_name. Local
	// rule documents may give it; the default rule is named "Default".
	Name string
	// Host, Method and URLPath are patterns with * and ? wildcards.
	Host, Method, URLPath string
	// FixedTarget is the number of requests sampled every second before
	// Rate applies.
	FixedTarget int64
	// Rate is the fraction of the requests beyond FixedTarget that are sampled.
	Rate float64

	// reservoir packs the current second (high 32 bits) and the number of
	// requests taken in it (low 32 bits), so one CAS updates both.
	reservoir atomic.Uint64
}

type rulesDoc struct {
	Version *int       `json:"version"`
	Default *ruleDoc   `json:"default"`
	Rules   []*ruleDoc `json:"rules"`
}

type ruleDoc struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Host        *string  `json:"host"`
	ServiceName *string  `json:"service_name"`
	HTTPMethod  *string  `json:"http_method"`
	URLPath     *string  `json:"url_path"`
	FixedTarget *int64   `json:"fixed_target"`
	Rate        *float64 `json:"rate"`
}

// NewLocalizedStrategy returns the strategy of DefaultRulesJSON.
func NewLocalizedStrategy() *LocalizedStrategy {
	s, err := NewLocalizedStrategyFromJSONBytes([]byte(DefaultRulesJSON))
	if err != nil {
		panic("sampling: default rules: " + err.Error()) // a constant document
	}
	return s
}

// NewLocalizedStrategyFromFilePath reads a rules document from a file.
func NewLocalizedStrategyFromFilePath(path string) (*LocalizedStrategy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sampling: reading rules: %w", err)
	}
	return NewLocalizedStrategyFromJSONBytes(b)
}

// NewLocalizedStrategyFromJSONBytes parses a rules document, version 1 or 2:
//
//	{
//	  "version": 2,
//	  "rules": [
//	    {"description": "health checks", "host": "*", "http_method": "GET",
//	     "url_path": "/health", "fixed_target": 0, "rate": 0}
//	  ],
//	  "default": {"fixed_target": 1, "rate": 0.05}
//	}
//
// In version 1 the host pattern is called service_name. Every rule needs
// fixed_target and rate; rules other than the default need the three
// patterns. Unknown fields are errors, so a typo does not silently change
// what is sampled.
func NewLocalizedStrategyFromJSONBytes(b []byte) (*LocalizedStrategy, error) {
	var doc rulesDoc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("sampling: parsing rules: %w", err)
	}
	if dec.More() {
		return nil, errors.New("sampling: parsing rules: data after the document")
	}
	if doc.Version == nil {
		return nil, errors.New("sampling: rules: version is missing")
	}
	version := *doc.Version
	if version != 1 && version != 2 {
		return nil, fmt.Errorf("sampling: rules: version %d is not supported (1 or 2)", version)
	}
	if doc.Default == nil {
		return nil, errors.New("sampling: rules: default rule is missing")
	}
	def, err := doc.Default.rule(version, true)
	if err != nil {
		return nil, fmt.Errorf("sampling: default rule: %w", err)
	}
	if def.Name == "" {
		def.Name = "Default"
	}
	s := &LocalizedStrategy{def: def}
	for i, rd := range doc.Rules {
		if rd == nil {
			return nil, fmt.Errorf("sampling: rule %d: null", i+1)
		}
		r, err := rd.rule(version, false)
		if err != nil {
			return nil, fmt.Errorf("sampling: rule %d: %w", i+1, err)
		}
		s.rules = append(s.rules, r)
	}
	return s, nil
}

func (d *ruleDoc) rule(version int, isDefault bool) (*Rule, error) {
	if d.FixedTarget == nil || *d.FixedTarget < 0 {
		return nil, errors.New("fixed_target must be given, zero or more")
	}
	if d.Rate == nil || *d.Rate < 0 || *d.Rate > 1 {
		return nil, errors.New("rate must be given, between 0 and 1")
	}
	r := &Rule{Name: d.Name, FixedTarget: *d.FixedTarget, Rate: *d.Rate, Host: "*", Method: "*", URLPath: "*"}
	host := d.Host
	if version == 1 {
		if d.Host != nil {
			return nil, errors.New("host is a version 2 field (version 1 calls it service_name)")
		}
		host = d.ServiceName
	} else if d.ServiceName != nil {
		return nil, errors.New("service_name is a version 1 field (version 2 calls it host)")
	}
	if isDefault {
		if host != nil || d.HTTPMethod != nil || d.URLPath != nil {
			return nil, errors.New("the default rule matches everything and takes no patterns")
		}
		return r, nil
	}
	if host == nil || d.HTTPMethod == nil || d.URLPath == nil {
		return nil, errors.New("host (or service_name), http_method and url_path are required")
	}
	r.Host, r.Method, r.URLPath = *host, *d.HTTPMethod, *d.URLPath
	return r, nil
}

// ShouldTrace applies the first rule that matches r, or the default rule.
func (s *LocalizedStrategy) ShouldTrace(r Request) Decision {
	for _, rule := range s.rules {
		if rule.Match(r) {
			return rule.decide(time.Now())
		}
	}
	return s.def.decide(time.Now())
}

// Rules returns the rules in matching order, the default last.
func (s *LocalizedStrategy) Rules() []*Rule {
	out := make([]*Rule, 0, len(s.rules)+1)
	return append(append(out, s.rules...), s.def)
}

// Match reports whether the rule's patterns match the request.
func (r *Rule) Match(req Request) bool {
	return WildcardMatch(r.Host, req.Host) &&
		WildcardMatch(r.Method, req.Method) &&
		WildcardMatch(r.URLPath, req.URL)
}

func (r *Rule) decide(now time.Time) Decision {
	if r.take(now.Unix()) || (r.Rate > 0 && rand.Float64() < r.Rate) {
		return Decision{Sample: true, Rule: r.Name}
	}
	return Decision{Rule: r.Name}
}

// take claims one request from this second's reservoir.
func (r *Rule) take(sec int64) bool { return take(&r.reservoir, sec, r.FixedTarget) }
