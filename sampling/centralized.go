package sampling

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openxray/xray/daemonaddr"
)

// Intervals of the centralized strategy's pollers, as in the AWS SDKs.
const (
	RulesInterval   = 5 * time.Minute
	TargetsInterval = 10 * time.Second
	// RulesTTL is how long fetched rules are used without a successful
	// refresh before the fallback strategy takes over again.
	RulesTTL = time.Hour
)

// CentralizedStrategy samples with the rules defined in X-Ray (the
// console or the API), fetched through the daemon's TCP proxy, and with
// the reservoir quotas X-Ray assigns to this process, so that a fleet
// samples the rules' fixed targets together rather than each instance on
// its own.
//
// It polls the daemon lazily, from its first decision: the rules every
// five minutes (with jitter), the targets about every ten seconds with the
// statistics of each rule. Decisions never wait for the network: they read
// a snapshot swapped atomically by the pollers. Until rules arrive, and
// when they have not been refreshed for an hour, the fallback strategy
// decides (by default the local rules of DefaultRulesJSON).
//
// Close stops the pollers; a recorder closes the strategy it made itself.
type CentralizedStrategy struct {
	fallback Strategy
	endpoint string // http://host:port of the daemon's TCP proxy
	client   *http.Client
	logger   *slog.Logger
	clientID string

	snapshot atomic.Pointer[manifest]
	started  atomic.Bool
	refresh  chan struct{} // asks the rules poller to fetch now
	stop     chan struct{}
	stopOnce sync.Once
	ctx      context.Context // canceled by Close, ending a request under way
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	failing  atomic.Bool // the last poll failed (logged once per streak)

	rulesEvery, targetsEvery time.Duration // RulesInterval, TargetsInterval; tests shorten them
}

// manifest is a set of rules fetched at one time.
type manifest struct {
	rules   []*centralRule // by priority, then name
	fetched time.Time
}

// centralRule is a rule from X-Ray with its reservoir and statistics.
type centralRule struct {
	name        string
	priority    int
	reservoir   int64 // requests per second, for the fleet
	serviceName string
	serviceType string
	host        string
	method      string
	urlPath     string
	attributes  map[string]string
	isDefault   bool

	rate  atomic.Uint64 // float64 bits; the targets may change it
	quota atomic.Int64  // requests per second assigned to this process
	ttl   atomic.Int64  // unix nanoseconds the quota is valid until; 0: none yet
	taken atomic.Uint64 // second (high 32 bits) and requests taken in it

	requests, sampled, borrowed atomic.Int64
}

// CentralizedOption configures NewCentralizedStrategy.
type CentralizedOption func(*CentralizedStrategy)

// WithDaemonAddress sets the daemon's TCP address ("host:port"). The
// default is the TCP part of AWS_XRAY_DAEMON_ADDRESS, else
// 127.0.0.1:2000.
func WithDaemonAddress(hostport string) CentralizedOption {
	return func(s *CentralizedStrategy) { s.endpoint = "http://" + hostport }
}

// WithFallback sets the strategy used until rules arrive and after they
// expire (by default NewLocalizedStrategy()).
func WithFallback(f Strategy) CentralizedOption {
	return func(s *CentralizedStrategy) { s.fallback = f }
}

// WithHTTPClient sets the client that talks to the daemon (by default one
// with a two-second timeout).
func WithHTTPClient(c *http.Client) CentralizedOption {
	return func(s *CentralizedStrategy) { s.client = c }
}

// WithLogger sets where failures to reach the daemon are reported (by
// default slog.Default()); each streak of failures is logged once.
func WithLogger(l *slog.Logger) CentralizedOption {
	return func(s *CentralizedStrategy) { s.logger = l }
}

// NewCentralizedStrategy returns a strategy that samples with X-Ray's
// rules, falling back to the local default rules.
func NewCentralizedStrategy(opts ...CentralizedOption) (*CentralizedStrategy, error) {
	s := &CentralizedStrategy{refresh: make(chan struct{}, 1), stop: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.rulesEvery, s.targetsEvery = RulesInterval, TargetsInterval
	for _, o := range opts {
		o(s)
	}
	if s.endpoint == "" {
		addr, err := daemonaddr.Parse(os.Getenv("AWS_XRAY_DAEMON_ADDRESS"))
		if err != nil {
			return nil, fmt.Errorf("sampling: %w", err)
		}
		s.endpoint = "http://" + addr.TCP
	}
	if s.fallback == nil {
		s.fallback = NewLocalizedStrategy()
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 2 * time.Second}
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	var id [12]byte
	rand.Read(id[:])
	s.clientID = hex.EncodeToString(id[:])
	return s, nil
}

// NewCentralizedStrategyWithJSONBytes returns a centralized strategy whose
// fallback applies the local rules document b.
func NewCentralizedStrategyWithJSONBytes(b []byte, opts ...CentralizedOption) (*CentralizedStrategy, error) {
	local, err := NewLocalizedStrategyFromJSONBytes(b)
	if err != nil {
		return nil, err
	}
	return NewCentralizedStrategy(append([]CentralizedOption{WithFallback(local)}, opts...)...)
}

// NewCentralizedStrategyWithFilePath returns a centralized strategy whose
// fallback applies the local rules file at path.
func NewCentralizedStrategyWithFilePath(path string, opts ...CentralizedOption) (*CentralizedStrategy, error) {
	local, err := NewLocalizedStrategyFromFilePath(path)
	if err != nil {
		return nil, err
	}
	return NewCentralizedStrategy(append([]CentralizedOption{WithFallback(local)}, opts...)...)
}

// ClientID is the 24-hex-digit ID this process reports its statistics
// under.
func (s *CentralizedStrategy) ClientID() string { return s.clientID }

// ShouldTrace decides with the first matching rule from X-Ray, by
// priority then name, or with the fallback strategy while there are no
// fresh rules. It starts the pollers on its first call.
func (s *CentralizedStrategy) ShouldTrace(r Request) Decision {
	if !s.started.Load() {
		s.start()
	}
	m := s.snapshot.Load()
	now := time.Now()
	if m == nil || now.Sub(m.fetched) > RulesTTL {
		return s.fallback.ShouldTrace(r)
	}
	for _, rule := range m.rules {
		if rule.match(r) {
			return rule.decide(now)
		}
	}
	return s.fallback.ShouldTrace(r)
}

func (r *centralRule) match(req Request) bool {
	if r.isDefault {
		return true
	}
	if !WildcardMatch(r.serviceName, req.ServiceName) || !WildcardMatch(r.serviceType, req.ServiceType) ||
		!WildcardMatch(r.host, req.Host) || !WildcardMatch(r.method, req.Method) || !WildcardMatch(r.urlPath, req.URL) {
		return false
	}
	for k, pattern := range r.attributes {
		v, ok := req.Attributes[k]
		if !ok || !WildcardMatch(pattern, v) {
			return false
		}
	}
	return true
}

// decide takes from the reservoir, the process's quota while it is valid,
// else one borrowed request a second, then applies the fixed rate.
func (r *centralRule) decide(now time.Time) Decision {
	r.requests.Add(1)
	sec := now.Unix()
	if ttl := r.ttl.Load(); ttl != 0 && now.UnixNano() < ttl {
		if take(&r.taken, sec, r.quota.Load()) {
			r.sampled.Add(1)
			return Decision{Sample: true, Rule: r.name}
		}
	} else if r.reservoir > 0 && take(&r.taken, sec, 1) {
		r.borrowed.Add(1)
		r.sampled.Add(1)
		return Decision{Sample: true, Rule: r.name}
	}
	if rate := math.Float64frombits(r.rate.Load()); rate > 0 && mrand.Float64() < rate {
		r.sampled.Add(1)
		return Decision{Sample: true, Rule: r.name}
	}
	return Decision{Rule: r.name}
}

// take claims one request from this second's allowance of limit.
func take(taken *atomic.Uint64, sec, limit int64) bool {
	if limit <= 0 {
		return false
	}
	cur := uint64(uint32(sec)) << 32
	for {
		old := taken.Load()
		n := old & 0xffffffff
		if old&^0xffffffff != cur {
			n = 0
		}
		if int64(n) >= limit {
			return false
		}
		if taken.CompareAndSwap(old, cur|(n+1)) {
			return true
		}
	}
}

func (s *CentralizedStrategy) start() {
	if !s.started.CompareAndSwap(false, true) {
		return
	}
	select {
	case <-s.stop:
		return // closed before the first decision
	default:
	}
	s.wg.Add(2)
	go s.pollRules()
	go s.pollTargets()
}

// Close stops the pollers and waits for them. Decisions go on with the
// rules fetched so far (then the fallback).
func (s *CentralizedStrategy) Close() error {
	s.stopOnce.Do(func() {
		s.started.Store(true) // no start after Close
		close(s.stop)
		s.cancel()
	})
	s.wg.Wait()
	return nil
}

// sleep waits d, or until Close; it reports whether to go on.
func (s *CentralizedStrategy) sleep(d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.stop:
		return false
	case <-t.C:
		return true
	case <-wake:
		return true
	}
}

func (s *CentralizedStrategy) pollRules() {
	defer s.wg.Done()
	for {
		if err := s.fetchRules(); err != nil {
			s.reportFailure("sampling rules", err)
		} else {
			s.reportSuccess()
		}
		jitter := time.Duration(mrand.Int64N(int64(s.rulesEvery/60) + 1))
		if !s.sleep(s.rulesEvery+jitter, s.refresh) {
			return
		}
	}
}

func (s *CentralizedStrategy) pollTargets() {
	defer s.wg.Done()
	// The first report waits for rules to have been fetched.
	for s.sleep(s.targetsEvery+time.Duration(mrand.Int64N(int64(s.targetsEvery/100)+1)), nil) {
		if s.snapshot.Load() == nil {
			continue
		}
		if err := s.fetchTargets(); err != nil {
			s.reportFailure("sampling targets", err)
		}
	}
}

func (s *CentralizedStrategy) reportFailure(what string, err error) {
	if s.failing.CompareAndSwap(false, true) {
		s.logger.Warn("xray: cannot get "+what+" from the daemon; sampling goes on with the rules it has",
			"endpoint", s.endpoint, "error", err)
	}
}

func (s *CentralizedStrategy) reportSuccess() {
	if s.failing.CompareAndSwap(true, false) {
		s.logger.Info("xray: sampling rules from the daemon again", "endpoint", s.endpoint)
	}
}

// maxPages bounds the pages of rules followed, against a daemon that
// keeps answering a NextToken.
const maxPages = 100

func (s *CentralizedStrategy) fetchRules() error {
	var rules []*centralRule
	var token *string
	for page := 0; ; page++ {
		if page == maxPages {
			return errors.New("too many pages of rules")
		}
		body := map[string]any{}
		if token != nil {
			body["NextToken"] = *token
		}
		var resp GetSamplingRulesOutput
		if err := s.post("/GetSamplingRules", body, &resp); err != nil {
			return err
		}
		for _, rec := range resp.SamplingRuleRecords {
			d := rec.SamplingRule
			if d == nil || d.Version != 1 || d.ResourceARN != "*" || d.RuleName == "" {
				continue // only version 1 rules for every resource apply to SDKs
			}
			r := &centralRule{
				name: d.RuleName, priority: d.Priority, reservoir: d.ReservoirSize,
				serviceName: d.ServiceName, serviceType: d.ServiceType, host: d.Host,
				method: d.HTTPMethod, urlPath: d.URLPath, attributes: d.Attributes,
				isDefault: d.RuleName == "Default",
			}
			r.rate.Store(math.Float64bits(d.FixedRate))
			rules = append(rules, r)
		}
		if resp.NextToken == nil || *resp.NextToken == "" {
			break
		}
		token = resp.NextToken
	}
	slices.SortStableFunc(rules, func(a, b *centralRule) int {
		switch {
		case a.isDefault != b.isDefault: // Default comes last, whatever its priority
			if a.isDefault {
				return 1
			}
			return -1
		case a.priority != b.priority:
			return a.priority - b.priority
		}
		return strings.Compare(a.name, b.name)
	})
	// Rules that are still there keep their quota and statistics.
	if old := s.snapshot.Load(); old != nil {
		for _, r := range rules {
			for _, o := range old.rules {
				if o.name == r.name {
					r.carry(o)
				}
			}
		}
	}
	s.snapshot.Store(&manifest{rules: rules, fetched: time.Now()})
	return nil
}

// carry moves the quota, the reservoir's state and the statistics of the
// rule's previous version to r, before r is published.
func (r *centralRule) carry(o *centralRule) {
	if o.reservoir == r.reservoir {
		r.quota.Store(o.quota.Load())
		r.ttl.Store(o.ttl.Load())
	}
	r.taken.Store(o.taken.Load())
	r.requests.Store(o.requests.Swap(0))
	r.sampled.Store(o.sampled.Swap(0))
	r.borrowed.Store(o.borrowed.Swap(0))
}

func (s *CentralizedStrategy) fetchTargets() error {
	m := s.snapshot.Load()
	now := time.Now()
	var docs []SamplingStatisticsDocument
	for _, r := range m.rules {
		docs = append(docs, SamplingStatisticsDocument{
			RuleName: r.name, ClientID: s.clientID, Timestamp: float64(now.UnixNano()) / 1e9,
			RequestCount: r.requests.Swap(0), SampledCount: r.sampled.Swap(0), BorrowCount: r.borrowed.Swap(0),
		})
	}
	byName := make(map[string]*centralRule, len(m.rules))
	for _, r := range m.rules {
		byName[r.name] = r
	}
	// X-Ray takes at most 25 statistics per call.
	for chunk := range slices.Chunk(docs, 25) {
		var resp GetSamplingTargetsOutput
		if err := s.post("/SamplingTargets", GetSamplingTargetsInput{SamplingStatisticsDocuments: chunk}, &resp); err != nil {
			return err
		}
		for _, t := range resp.SamplingTargetDocuments {
			r := byName[t.RuleName]
			if r == nil {
				continue
			}
			if t.FixedRate != nil {
				r.rate.Store(math.Float64bits(*t.FixedRate))
			}
			if t.ReservoirQuota != nil && t.ReservoirQuotaTTL != nil {
				r.quota.Store(*t.ReservoirQuota)
				r.ttl.Store(int64(*t.ReservoirQuotaTTL * 1e9))
			}
		}
		if lm := resp.LastRuleModification; lm != nil && *lm*1e9 > float64(m.fetched.UnixNano()) {
			select { // rules changed since they were fetched
			case s.refresh <- struct{}{}:
			default:
			}
		}
	}
	return nil
}

// maxResponse bounds what is read from the daemon.
const maxResponse = 4 << 20

func (s *CentralizedStrategy) post(path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.endpoint+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponse)).Decode(out); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
