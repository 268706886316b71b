package sqltrace

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openxray/xray"
)

// Config is the resolved set of options of a traced database.
type Config struct {
	// DriverName is the name the driver is registered under, if known.
	DriverName string
	// DSN is the data source name, read for the sql block (its secrets are
	// never recorded). Empty with OpenDB unless given.
	DSN string
	// DatabaseType overrides the type detected from the driver.
	DatabaseType string
	// Name overrides the subsegment name (default "<database>@<host>").
	Name string
	// Query says what the sql block's sanitized_query holds.
	Query QueryMode
	// MaxQueryLen caps sanitized_query; 0 means DefaultMaxQueryLen.
	MaxQueryLen int
	// Params, when set, returns what to record of a statement's bound
	// arguments (metadata sql.parameters); the user redacts there.
	Params func(query string, args []driver.NamedValue) any
	// SlowQuery, when positive, annotates slower calls with slow_query.
	SlowQuery time.Duration
	// NoDatabaseVersion turns off reading the server's version.
	NoDatabaseVersion bool
	// IgnoreCancel records nothing for calls cancelled by their context.
	IgnoreCancel bool
	// RawErrorMessages records driver error messages as they are, with the
	// values they quote.
	RawErrorMessages bool
	// PoolWait records, on the subsegment of a call that had to wait for a
	// connection, how long it waited (metadata database.pool_wait_ms).
	PoolWait bool
	// SQLCommenter appends the trace context to each statement executed
	// directly (not prepared) as a sqlcommenter comment.
	SQLCommenter bool
	// Recorder is told about calls made outside any segment and records
	// the facades of Lambda invocations; nil means xray.Default() at the
	// time of each call. Subsegments are recorded by their segment's
	// recorder.
	Recorder *xray.Recorder
}

// SQL is xray.SQL.
//
// Deprecated: use xray.SQL.
type SQL = xray.SQL

// Span is what Tracer's methods begin and finish: a subsegment.
//
// Deprecated: use *xray.Segment.
type Span = *xray.Segment

// tracer is the state shared by every connection of one traced database.
type tracer struct {
	cfg    Config
	dbType string
	name   string
	maxLen int

	// base is the sql block without a statement; replaced when the
	// server's version becomes known.
	base        atomic.Pointer[SQL]
	versionOnce sync.Once

	cacheMu sync.RWMutex
	cache   map[cacheKey]*xray.SQL

	missingReported atomic.Bool

	comment bool // SQLCommenter, where it does not defeat a statement cache

	// For Config.PoolWait: the pool's statistics when last read.
	db        atomic.Pointer[sql.DB]
	waitMu    sync.Mutex
	lastWaits int64
	lastWait  time.Duration
}

type cacheKey struct {
	query    string
	prepared bool
}

// maxCached bounds the statement cache; past it the cache starts over.
const maxCached = 1024

func newTracer(cfg Config, inner any) *tracer {
	pkg := driverPackage(inner)
	t := &tracer{cfg: cfg}
	t.dbType = cfg.DatabaseType
	if t.dbType == "" {
		t.dbType = detectType(cfg.DriverName, pkg)
	}
	t.maxLen = cfg.MaxQueryLen
	if t.maxLen <= 0 {
		t.maxLen = DefaultMaxQueryLen
	}
	info := parseDSN(cfg.DSN, t.dbType)
	t.name = cfg.Name
	if t.name == "" {
		db, host := info.database, info.host
		switch {
		case db != "" && host != "":
			t.name = db + "@" + host
		case db != "":
			t.name = db
		default:
			t.name = t.dbType
		}
	}
	t.base.Store(&xray.SQL{
		URL:              info.url,
		ConnectionString: info.connStr,
		DatabaseType:     t.dbType,
		DriverVersion:    driverVersion(pkg),
		User:             info.user,
	})
	t.cache = make(map[cacheKey]*xray.SQL)
	t.setupCommenter(pkg)
	return t
}

// sqlFor returns the (cached) sql block of a statement.
func (t *tracer) sqlFor(query string, prepared bool) *xray.SQL {
	k := cacheKey{query, prepared}
	t.cacheMu.RLock()
	s := t.cache[k]
	t.cacheMu.RUnlock()
	if s != nil {
		return s
	}
	b := *t.base.Load()
	b.SanitizedQuery = sanitize(query, t.cfg.Query, t.dbType, t.maxLen)
	switch {
	case isCall(query):
		b.Preparation = "call"
	case prepared:
		b.Preparation = "statement"
	}
	s = &b
	t.cacheMu.Lock()
	if len(t.cache) >= maxCached {
		t.cache = make(map[cacheKey]*xray.SQL)
	}
	t.cache[k] = s
	t.cacheMu.Unlock()
	return s
}

// setVersion records the server's version in every sql block from now on.
func (t *tracer) setVersion(v string) {
	b := *t.base.Load()
	b.DatabaseVersion = v
	t.base.Store(&b)
	t.cacheMu.Lock()
	t.cache = make(map[cacheKey]*xray.SQL)
	t.cacheMu.Unlock()
}

// fetchVersion reads the server's version once per traced database. For
// servers it runs on a connection of its own, in a goroutine of its own, so
// no caller waits. For SQLite, an in-process library where a second
// connection could hold a lock while the program writes (SQLITE_BUSY), it
// asks conn, the connection just opened, before handing it out: a function
// call of microseconds, once.
func (t *tracer) fetchVersion(ctx context.Context, conn driver.Conn, connect func(context.Context) (driver.Conn, error)) {
	if t.cfg.NoDatabaseVersion {
		return
	}
	q := versionQuery(t.dbType)
	if q == "" {
		return
	}
	t.versionOnce.Do(func() {
		if t.dbType == typeSQLite {
			if v, err := queryString(ctx, conn, q); err == nil && v != "" {
				t.setVersion(v)
			}
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := connect(ctx)
			if err != nil {
				return
			}
			defer c.Close()
			if v, err := queryString(ctx, c, q); err == nil && v != "" {
				t.setVersion(v)
			}
		}()
	})
}

// queryString runs q on a raw driver connection and returns the first
// column of the first row as text.
func queryString(ctx context.Context, c driver.Conn, q string) (string, error) {
	var rows driver.Rows
	var err error
	if qc, ok := c.(driver.QueryerContext); ok {
		rows, err = qc.QueryContext(ctx, q, nil)
	} else {
		err = driver.ErrSkip
	}
	if err == driver.ErrSkip {
		var st driver.Stmt
		if pc, ok := c.(driver.ConnPrepareContext); ok {
			st, err = pc.PrepareContext(ctx, q)
		} else {
			st, err = c.Prepare(q)
		}
		if err != nil {
			return "", err
		}
		defer st.Close()
		if sq, ok := st.(driver.StmtQueryContext); ok {
			rows, err = sq.QueryContext(ctx, nil)
		} else {
			rows, err = st.Query(nil) //nolint:staticcheck // drivers without contexts
		}
	}
	if err != nil {
		return "", err
	}
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	if len(dest) == 0 {
		return "", io.EOF
	}
	if err := rows.Next(dest); err != nil {
		return "", err
	}
	switch v := dest[0].(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	}
	return "", io.EOF
}

// start begins the subsegment of one call. parent is the transaction's
// subsegment for statements run in one. report says whether a missing
// segment is worth telling the context-missing strategy about (not for
// connections the pool opens in the background).
func (t *tracer) start(ctx context.Context, parent *xray.Segment, report bool) (context.Context, *xray.Segment) {
	if parent == nil {
		rec := t.recorder()
		if parent = rec.ParentSegment(ctx); parent == nil {
			if report && !t.missingReported.Load() && t.missingReported.CompareAndSwap(false, true) {
				// Once per database: a program that queries outside
				// segments is told where, and then pays only the
				// context lookup.
				rec.ContextMissing("database call on " + t.name)
			}
			return ctx, nil
		}
	}
	c, span := parent.BeginSubsegment(ctx, t.name)
	span.SetNamespace("remote")
	return c, span
}

// recorder returns the recorder whose context-missing strategy and Lambda
// facades the tracer uses.
func (t *tracer) recorder() *xray.Recorder {
	if t.cfg.Recorder != nil {
		return t.cfg.Recorder
	}
	return xray.Default()
}

// finish records the outcome of a call and closes its span.
func (t *tracer) finish(span *xray.Segment, sql *xray.SQL, err error, started time.Time) {
	if span == nil {
		return
	}
	if sql != nil {
		span.SetSQL(sql)
		if strings.HasSuffix(sql.SanitizedQuery, "...") {
			// Cut at MaxQueryLen, or only the first word kept because
			// the statement could not be sanitized.
			span.AddMetadataToNamespace("sql", "query_truncated", true)
		}
	}
	if err != nil {
		t.recordError(span, err)
	}
	if t.cfg.SlowQuery > 0 && time.Since(started) >= t.cfg.SlowQuery {
		span.AddAnnotation("slow_query", true)
	}
	span.Close(nil)
}

// now returns the time a call starts, when slow queries are watched.
func (t *tracer) now() time.Time {
	if t.cfg.SlowQuery > 0 {
		return time.Now()
	}
	return time.Time{}
}

func (t *tracer) recordError(span *xray.Segment, err error) {
	d := inspect(err)
	switch classify(err, d) {
	case classCancel:
		if t.cfg.IgnoreCancel {
			return
		}
	case classError:
		span.AddErrorFlag()
	default:
		span.AddFaultFlag()
	}
	span.AddCause(newCause(err, d, t.cfg.RawErrorMessages), true)
	// The database's own code, as a value of its own: OTLP export writes it
	// as db.response.status_code.
	switch {
	case d.sqlState != "":
		span.AddMetadataToNamespace("sql", "error_code", d.sqlState)
	case d.hasNum:
		span.AddMetadataToNamespace("sql", "error_code", strconv.Itoa(d.number))
	}
}

// recordParams adds the user's record of bound arguments.
func (t *tracer) recordParams(span *xray.Segment, query string, args []driver.NamedValue) {
	if span == nil || t.cfg.Params == nil || len(args) == 0 {
		return
	}
	span.AddMetadataToNamespace("sql", "parameters", t.cfg.Params(query, args))
}

// Transaction outcomes, recorded as metadata sql.transaction.
const (
	TxCommitted   = "committed"
	TxRolledBack  = "rolled back"
	TxBeginFailed = "begin failed"
)

// EndTransaction records how a transaction ended (TxCommitted,
// TxRolledBack or TxBeginFailed, with " with error" added when err is not
// nil) on its subsegment and finishes it.
func (t *tracer) EndTransaction(span *xray.Segment, outcome string, err error, started time.Time) {
	if span == nil {
		return
	}
	if err != nil && outcome != TxBeginFailed {
		outcome += " with error"
	}
	span.AddMetadataToNamespace("sql", "transaction", outcome)
	t.finish(span, t.base.Load(), err, started)
}

// RecordParameters records, when Config.Params is set, what it returns of a
// statement's bound arguments as metadata sql.parameters of span.
func (t *tracer) RecordParameters(span *xray.Segment, query string, args []driver.NamedValue) {
	t.recordParams(span, query, args)
}

// WantsParameters reports whether Config.Params is set, so that callers
// build the arguments only then.
func (t *tracer) WantsParameters() bool { return t.cfg.Params != nil }

// SetDB tells a traced connector which pool it serves, for Config.PoolWait.
func SetDB(c driver.Connector, db *sql.DB) {
	var t *tracer
	switch c := c.(type) {
	case *connector:
		t = c.t
	case connectorCloser:
		t = c.t
	}
	if t != nil && t.cfg.PoolWait {
		t.db.Store(db)
		st := db.Stats()
		t.waitMu.Lock()
		t.lastWaits, t.lastWait = st.WaitCount, st.WaitDuration
		t.waitMu.Unlock()
	}
}

// poolWait is called when the pool hands out a used connection: if the
// pool's wait count grew since the last look, a caller waited, and this
// returns the wait (the average, when several ended at once).
// database/sql adds a wait to its statistics just before handing the
// connection over, so the caller getting it is the one that waited.
func (t *tracer) poolWait() time.Duration {
	db := t.db.Load()
	if db == nil {
		return 0
	}
	st := db.Stats()
	t.waitMu.Lock()
	defer t.waitMu.Unlock()
	n, d := st.WaitCount-t.lastWaits, st.WaitDuration-t.lastWait
	t.lastWaits, t.lastWait = st.WaitCount, st.WaitDuration
	if n <= 0 || d <= 0 {
		return 0
	}
	return d / time.Duration(n)
}

// Tracer is the per-database state, for integrations that are not
// database/sql drivers (pgx used directly): they share the sql block,
// sanitizer, error classes and statement cache.
type Tracer = tracer

// NewTracer returns the tracer of one database. driverValue is a value of
// the driver's package (for sql.driver_version); cfg.DSN describes the
// database.
func NewTracer(cfg Config, driverValue any) *Tracer { return newTracer(cfg, driverValue) }

// Start begins the subsegment of a call, under parent (a transaction) or
// the entity in ctx; it returns a nil subsegment when the call is not traced.
func (t *tracer) Start(ctx context.Context, parent *xray.Segment) (context.Context, *xray.Segment) {
	return t.start(ctx, parent, true)
}

// StartQuiet is Start without telling the context-missing strategy, for
// work the library does on its own (connecting, acquiring).
func (t *tracer) StartQuiet(ctx context.Context) (context.Context, *xray.Segment) {
	return t.start(ctx, nil, false)
}

// Finish records the outcome of a call (its error classified) and closes
// its span.
func (t *tracer) Finish(span *xray.Segment, sql *xray.SQL, err error, started time.Time) {
	t.finish(span, sql, err, started)
}

// Statement returns the sql block of a statement, cached.
func (t *tracer) Statement(query string, prepared bool) *xray.SQL { return t.sqlFor(query, prepared) }

// Base returns the sql block without a statement.
func (t *tracer) Base() *xray.SQL { return t.base.Load() }

// Now returns the start time of a call (zero unless slow queries are
// watched).
func (t *tracer) Now() time.Time { return t.now() }

// HasVersion reports whether the server's version is known (or not
// wanted), so callers can skip looking it up.
func (t *tracer) HasVersion() bool {
	return t.cfg.NoDatabaseVersion || t.base.Load().DatabaseVersion != ""
}

// SetVersionOnce records the server's version, the first time only.
func (t *tracer) SetVersionOnce(v string) {
	if v == "" || t.HasVersion() {
		return
	}
	t.versionOnce.Do(func() { t.setVersion(v) })
}
