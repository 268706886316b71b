package viewer

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/openxray/xray/cmd/xray/internal/store"
)

// The service map and the database page aggregate every trace of their
// range: on a store of 100,000 traces that takes half a second. The search
// builder's suggestions count every annotation; the scatter plot's sample
// reads every trace of its range. Their answers are kept (views) and
// reused while the store has not changed since (Store.Generation) and for
// at most maxAge, since a range moves with the clock. KeepFresh recomputes
// the views asked for recently, and the pages' defaults, after writes, so
// that opening a page answers from memory.
const (
	viewHot       = 10 * time.Minute       // a view asked for this recently is kept fresh
	viewDebounce  = 250 * time.Millisecond // after a write, before recomputing
	viewTick      = 5 * time.Second        // how often KeepFresh looks for aged views
	maxViews      = 64                     // distinct views remembered
	viewRecompute = 10 * time.Second       // a recomputation's time limit
)

// maxAge is how long an answer over the last since holds when nothing is
// written: a twelfth of the range (what ages out of it meanwhile), between
// 10 seconds and 5 minutes. A view without a moving range (since 0) holds
// 5 minutes.
func maxAge(since time.Duration) time.Duration {
	if since <= 0 {
		return 5 * time.Minute
	}
	return min(max(since/12, 10*time.Second), 5*time.Minute)
}

type views struct {
	st *store.Store
	mu sync.Mutex
	m  map[string]*view
}

// view is one kept answer, and how to compute it again.
type view struct {
	compute func(ctx context.Context) (any, error)
	maxAge  time.Duration

	mu   sync.Mutex // held while computing, so one request computes and others wait
	gen  uint64     // the store's generation the answer was computed from
	at   time.Time  // when it was computed
	body []byte     // the answer, JSON; nil until computed
	used time.Time  // last asked for; guarded by views.mu
}

func newViews(st *store.Store) *views { return &views{st: st, m: map[string]*view{}} }

// get returns the answer for key, computing it when there is no fresh one.
func (vs *views) get(ctx context.Context, key string, maxAge time.Duration, compute func(ctx context.Context) (any, error)) ([]byte, error) {
	vs.mu.Lock()
	v := vs.m[key]
	if v == nil {
		if len(vs.m) >= maxViews {
			vs.evictLocked()
		}
		v = &view{compute: compute, maxAge: maxAge}
		vs.m[key] = v
	}
	v.used = time.Now()
	vs.mu.Unlock()
	return v.answer(ctx, vs.st, false)
}

// answer returns v's answer, recomputed when it is stale or when force is
// set.
func (v *view) answer(ctx context.Context, st *store.Store, force bool) ([]byte, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	gen := st.Generation()
	if !force && v.body != nil && v.gen == gen && time.Since(v.at) < v.maxAge {
		return v.body, nil
	}
	at := time.Now()
	a, err := v.compute(ctx)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	v.body, v.gen, v.at = append(body, '\n'), gen, at
	return v.body, nil
}

// evictLocked forgets the least recently used view.
func (vs *views) evictLocked() {
	var oldest string
	var t time.Time
	for k, v := range vs.m {
		if oldest == "" || v.used.Before(t) {
			oldest, t = k, v.used
		}
	}
	delete(vs.m, oldest)
}

// hot returns the views asked for within viewHot, most recent first.
func (vs *views) hot() []*view {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	var out []*view
	for _, v := range vs.m {
		if time.Since(v.used) < viewHot {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b *view) int { return b.used.Compare(a.used) })
	return out
}

// refresh recomputes the hot views that are stale.
func (vs *views) refresh(ctx context.Context) {
	for _, v := range vs.hot() {
		v.mu.Lock()
		stale := v.body == nil || v.gen != vs.st.Generation() || time.Since(v.at) > v.maxAge/2
		v.mu.Unlock()
		if !stale {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, viewRecompute)
		v.answer(rctx, vs.st, true)
		cancel()
		if ctx.Err() != nil {
			return
		}
	}
}

// KeepFresh keeps the kept views (the service map, the database page, the
// search builder's suggestions, the scatter plot) computed ahead of
// requests until ctx is done: the pages' defaults from the start, and
// every view asked for in the last ten minutes after writes to the store
// (once they pause for a quarter of a second) and when half their maxAge
// has passed. Without it the answers are computed on request and kept
// while the store does not change.
func (s *Server) KeepFresh(ctx context.Context) {
	s.once.Do(s.init)
	for _, since := range defaultSinces {
		rs := rangeSpec{since: since}
		s.views.get(ctx, rs.key("services"), rs.maxAge(), s.servicesFor(rs))
		s.views.get(ctx, rs.key("database", ""), rs.maxAge(), s.databaseFor(rs, ""))
	}
	s.views.get(ctx, "suggest", maxAge(0), s.suggestions)
	list := rangeSpec{since: time.Hour} // the list's default
	s.views.get(ctx, list.key("scatter", "", ""), list.maxAge(), s.scatterFor(list, "", time.Time{}))
	// The store's generation, looked at every viewDebounce: it takes none
	// of the store's listeners, which are the viewer tabs'.
	tick := time.NewTicker(viewDebounce)
	defer tick.Stop()
	gen, written, looked := s.Store.Generation(), false, time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if g := s.Store.Generation(); g != gen {
			gen, written = g, true // still being written: wait for a quiet look
			continue
		}
		if written || time.Since(looked) >= viewTick {
			written, looked = false, time.Now()
			s.views.refresh(ctx)
		}
	}
}

// defaultSinces are the ranges the pages open with: the map and the
// database page default to the last hour; the map's "all" is a day.
var defaultSinces = []time.Duration{time.Hour, 24 * time.Hour}

// rangeSpec is an aggregate's range: from a fixed time, or the last since.
type rangeSpec struct {
	since time.Duration
	from  time.Time
}

// parseSpec reads a request's range: from (fixed), or since, or the last
// hour.
func parseSpec(r *http.Request) (rangeSpec, error) {
	from, _, err := parseRange(r)
	if err != nil {
		return rangeSpec{}, err
	}
	if r.URL.Query().Get("from") != "" {
		return rangeSpec{from: from}, nil
	}
	if from.IsZero() {
		return rangeSpec{since: time.Hour}, nil
	}
	d, _ := time.ParseDuration(r.URL.Query().Get("since")) // parseRange checked it
	return rangeSpec{since: d}, nil
}

// maxAge is how long an answer over the range holds (a fixed one does not
// move).
func (rs rangeSpec) maxAge() time.Duration {
	if !rs.from.IsZero() {
		return maxAge(0)
	}
	return maxAge(rs.since)
}

// start is where the range begins now.
func (rs rangeSpec) start() time.Time {
	if !rs.from.IsZero() {
		return rs.from
	}
	return time.Now().Add(-rs.since)
}

// key names the view of kind over the range, with the given parameters.
func (rs rangeSpec) key(kind string, params ...string) string {
	k := kind + "|" + rs.since.String() + "|" + strconv.FormatInt(rs.from.UnixNano(), 10)
	for _, p := range params {
		k += "|" + strconv.Quote(p)
	}
	return k
}

func (s *Server) servicesFor(rs rangeSpec) func(ctx context.Context) (any, error) {
	return func(ctx context.Context) (any, error) { return s.Store.Services(ctx, rs.start()) }
}

func (s *Server) databaseFor(rs rangeSpec, service string) func(ctx context.Context) (any, error) {
	return func(ctx context.Context) (any, error) { return s.Store.Database(ctx, rs.start(), service) }
}
