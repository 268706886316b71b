// Package xraysql traces database/sql: every query, statement,
// transaction, ping and connection opened inside a segment becomes an
// X-Ray subsegment named "<database>@<host>" in namespace "remote", with
// the sql block X-Ray shows for databases:
//
//   - url or connection_string, without password, keys, tokens or
//     signatures, read with the grammar of the engine's driver; a DSN of a
//     shape the package does not know is not recorded;
//   - database_type and database_version (read once per database handle,
//     in the background), driver_version (module@version of the driver),
//     user;
//   - sanitized_query: the statement with every literal (strings, numbers,
//     booleans, IN lists, dollar-quoted strings, in every form the engine
//     accepts) replaced by ?, bind placeholders kept, comments removed. A
//     statement that cannot be sanitized is recorded as its first word and
//     "..." (SELECT ...), and metadata sql.query_truncated is set, as it is
//     when the statement is cut at WithMaxQueryLength;
//   - preparation: "statement" for prepared statements, "call" for
//     stored procedure calls.
//
// Queries record the rows read (their subsegment lasts until rows.Close),
// statements the rows affected; transactions group their statements and
// record whether they were committed or rolled back. Errors mark the
// subsegment: constraint violations and syntax errors set error, lost
// connections, timeouts and server failures set fault, and the cause holds
// the SQLSTATE or error number. Bound parameter values are never recorded
// unless WithParameters says how.
//
// Any driver works: github.com/jackc/pgx/v5/stdlib, github.com/lib/pq,
// github.com/go-sql-driver/mysql and modernc.org/sqlite are recognized;
// for others, WithDatabaseType names the engine.
//
// aws-xray-sdk-go's xray.SQLContext(driverName, dsn) is Open with the
// default options (and is in the compat tree under that name).
package xraysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sqltrace"
)

// Option configures a traced database.
type Option interface {
	apply(*sqltrace.Config)
}

type optionFunc func(*sqltrace.Config)

func (f optionFunc) apply(c *sqltrace.Config) { f(c) }

// QueryMode says what sql.sanitized_query holds. xraypgx and xraygorm take
// the same modes.
type QueryMode = sqltrace.QueryMode

const (
	// QuerySanitized records statements with their literals replaced by
	// placeholders. It is the default.
	QuerySanitized = sqltrace.QuerySanitized
	// QueryOff records no statement text.
	QueryOff = sqltrace.QueryOff
	// QueryRaw records statements as written, literals included. Use it
	// only where statements never carry personal data or secrets.
	QueryRaw = sqltrace.QueryRaw
)

// WithQuery sets what is recorded of each statement.
func WithQuery(mode QueryMode) Option {
	return optionFunc(func(c *sqltrace.Config) {
		switch mode {
		case QueryOff, QueryRaw:
			c.Query = mode
		default:
			c.Query = QuerySanitized
		}
	})
}

// WithMaxQueryLength caps the recorded statement, in characters (default
// 2,000).
func WithMaxQueryLength(n int) Option {
	return optionFunc(func(c *sqltrace.Config) { c.MaxQueryLen = n })
}

// WithDatabaseType names the database engine (sql.database_type) for a
// driver that is not recognized, such as "CockroachDB".
func WithDatabaseType(name string) Option {
	return optionFunc(func(c *sqltrace.Config) { c.DatabaseType = name })
}

// WithName sets the subsegments' name, "<database>@<host>" by default.
func WithName(name string) Option {
	return optionFunc(func(c *sqltrace.Config) { c.Name = name })
}

// WithDSN describes the database for OpenDB and Wrap, which get a
// connector rather than a data source name. Its secrets are not recorded.
func WithDSN(dsn string) Option {
	return optionFunc(func(c *sqltrace.Config) { c.DSN = dsn })
}

// WithParameters records bound arguments: fn returns what to record of
// them (metadata sql.parameters), after removing what must not leave the
// program. Without it, argument values are never recorded.
func WithParameters(fn func(query string, args []driver.NamedValue) any) Option {
	return optionFunc(func(c *sqltrace.Config) { c.Params = fn })
}

// WithSlowQueryThreshold annotates calls that take d or longer with
// slow_query = true, so X-Ray can find them (annotation.slow_query = true).
func WithSlowQueryThreshold(d time.Duration) Option {
	return optionFunc(func(c *sqltrace.Config) { c.SlowQuery = d })
}

// WithoutDatabaseVersion turns off reading the server's version, which is
// otherwise done once per database handle, on a connection of its own, in
// the background.
func WithoutDatabaseVersion() Option {
	return optionFunc(func(c *sqltrace.Config) { c.NoDatabaseVersion = true })
}

// WithCancellations sets whether calls cancelled by their context record
// the cancellation as a cause (the default) or nothing.
func WithCancellations(record bool) Option {
	return optionFunc(func(c *sqltrace.Config) { c.IgnoreCancel = !record })
}

// WithPoolWait records, on the subsegment of a call that had to wait for a
// free connection (the pool at SetMaxOpenConns), how long it waited:
// metadata database.pool_wait_ms. It works with Open and OpenDB (not with
// Wrap, which does not see the *sql.DB) and with
// drivers that reset sessions (pgx, lib/pq, go-sql-driver/mysql,
// modernc.org/sqlite do). database/sql reports waits only in total, so
// when several calls stop waiting at the same instant each gets their
// average.
func WithPoolWait() Option {
	return optionFunc(func(c *sqltrace.Config) { c.PoolWait = true })
}

// WithSQLCommenter appends the trace context to each statement executed
// directly (ExecContext, QueryContext; not prepared statements) as a
// sqlcommenter comment: traceparent (W3C) and x-amzn-trace-id, naming the
// trace and the call's subsegment, so that the database's logs,
// pg_stat_activity and slow-query logs can be joined to traces. The
// recorded statement has no comment.
//
// A comment that differs on every call makes every call a new statement
// for a cache keyed by statement text: pgx caches so by default, so with
// pgx the comment is added only when the DSN sets default_query_exec_mode
// to exec, simple_protocol or describe_exec (a warning says so otherwise).
// lib/pq, go-sql-driver/mysql and modernc.org/sqlite keep no such cache.
// Prepared statements are never commented: their text is fixed when they
// are prepared, and they are reused across traces.
func WithSQLCommenter() Option {
	return optionFunc(func(c *sqltrace.Config) { c.SQLCommenter = true })
}

// WithRawErrorMessages records database error messages as they are. By
// default the values they quote are replaced with ?, since messages such as
// MySQL's "Duplicate entry 'alice@example.com'" repeat the data.
func WithRawErrorMessages() Option {
	return optionFunc(func(c *sqltrace.Config) { c.RawErrorMessages = true })
}

// WithRecorder makes rec (instead of the default recorder) the one told
// about calls made outside any segment, and the one that records the
// facades of Lambda invocations. A call's subsegment is always recorded by
// the recorder of the segment it belongs to.
func WithRecorder(rec *xray.Recorder) Option {
	return optionFunc(func(c *sqltrace.Config) { c.Recorder = rec })
}

func config(driverName string, opts []Option) sqltrace.Config {
	c := sqltrace.Config{DriverName: driverName}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// Open opens a traced database, like sql.Open.
func Open(driverName, dsn string, opts ...Option) (*sql.DB, error) {
	return sqltrace.Open(driverName, dsn, config(driverName, opts))
}

// OpenDB opens a traced database on a connector, like sql.OpenDB.
func OpenDB(c driver.Connector, opts ...Option) *sql.DB {
	return sqltrace.OpenDB(Wrap(c, opts...))
}

// Wrap returns a connector whose connections are traced. It keeps every
// optional interface of the connector and its connections, and adds none.
func Wrap(c driver.Connector, opts ...Option) driver.Connector {
	return sqltrace.Wrap(c, config("", opts))
}

// Register registers a traced copy of d under name, for code that must
// open databases by name with sql.Open (sqlx, migration tools). Unlike
// sql.Register it returns an error, not a panic, when name is taken.
func Register(name string, d driver.Driver, opts ...Option) error {
	if d == nil {
		return fmt.Errorf("xraysql: Register %q: nil driver", name)
	}
	if slices.Contains(sql.Drivers(), name) {
		return fmt.Errorf("xraysql: Register %q: a driver is already registered under this name", name)
	}
	sql.Register(name, sqltrace.WrapDriver(d, config(name, opts)))
	return nil
}

// Unwrap returns the driver's own connection from the traced one that
// (*sql.Conn).Raw passes to its function:
//
//	conn.Raw(func(dc any) error {
//		pgxConn := xraysql.Unwrap(dc).(*stdlib.Conn).Conn()
//		...
//	})
//
// Other values are returned as they are.
func Unwrap(driverConn any) any {
	if u, ok := driverConn.(interface{ Unwrap() driver.Conn }); ok {
		return u.Unwrap()
	}
	return driverConn
}

// RecordPoolStats records db's connection pool statistics (sql.DBStats) as
// metadata in namespace "database" of the segment or subsegment in ctx.
func RecordPoolStats(ctx context.Context, db *sql.DB) {
	seg := xray.GetSegment(ctx)
	if !seg.Sampled() || db == nil {
		return
	}
	s := db.Stats()
	for _, kv := range []struct {
		key string
		val any
	}{
		{"max_open_connections", s.MaxOpenConnections},
		{"open_connections", s.OpenConnections},
		{"in_use", s.InUse},
		{"idle", s.Idle},
		{"wait_count", s.WaitCount},
		{"wait_duration_ms", float64(s.WaitDuration) / float64(time.Millisecond)},
		{"max_idle_closed", s.MaxIdleClosed},
		{"max_idle_time_closed", s.MaxIdleTimeClosed},
		{"max_lifetime_closed", s.MaxLifetimeClosed},
	} {
		seg.AddMetadataToNamespace("database", kv.key, kv.val)
	}
}
