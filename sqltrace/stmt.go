package sqltrace

import (
	"context"
	"database/sql/driver"
	"time"

	"github.com/openxray/xray"
)

// stmt is a traced prepared statement.
type stmt struct {
	inner driver.Stmt
	c     *conn
	query string

	// The subsegment of a direct call the driver answered with ErrSkip;
	// the statement's first run completes it.
	pendingSpan  *xray.Segment
	pendingStart time.Time
}

// stmtConverter is a stmt whose inner statement converts its own columns
// (driver.ColumnConverter), which database/sql consults when present.
type stmtConverter struct{ *stmt }

func (s stmtConverter) ColumnConverter(idx int) driver.ValueConverter {
	return s.inner.(driver.ColumnConverter).ColumnConverter(idx) //nolint:staticcheck // forwarded as is
}

func wrapStmt(s *stmt) driver.Stmt {
	if _, ok := s.inner.(driver.ColumnConverter); ok { //nolint:staticcheck // forwarded as is
		return stmtConverter{s}
	}
	return s
}

func (s *stmt) Close() error {
	if s.pendingSpan != nil {
		s.pendingSpan.Discard()
		s.pendingSpan = nil
	}
	return s.inner.Close()
}

func (s *stmt) NumInput() int { return s.inner.NumInput() }

// CheckNamedValue uses the statement's checker, else the connection's
// (pgx's stdlib has it on the connection only), else the defaults.
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if nvc, ok := s.inner.(driver.NamedValueChecker); ok {
		return nvc.CheckNamedValue(nv)
	}
	return s.c.CheckNamedValue(nv)
}

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), valuesToNamed(args))
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), valuesToNamed(args))
}

func (s *stmt) begin(ctx context.Context) (context.Context, *xray.Segment, time.Time) {
	if span := s.pendingSpan; span != nil {
		s.pendingSpan = nil
		return ctx, span, s.pendingStart
	}
	started := s.c.t.now()
	sctx, span := s.c.begin(ctx)
	return sctx, span, started
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	sctx, span, started := s.begin(ctx)
	var res driver.Result
	var err error
	if ec, ok := s.inner.(driver.StmtExecContext); ok {
		res, err = ec.ExecContext(sctx, args)
	} else {
		var values []driver.Value
		if values, err = legacyValues(ctx, args); err == nil {
			res, err = s.inner.Exec(values) //nolint:staticcheck // drivers without contexts
		}
	}
	s.c.t.endExec(span, s.query, true, args, res, err, started)
	return res, err
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	sctx, span, started := s.begin(ctx)
	var rs driver.Rows
	var err error
	if qc, ok := s.inner.(driver.StmtQueryContext); ok {
		rs, err = qc.QueryContext(sctx, args)
	} else {
		var values []driver.Value
		if values, err = legacyValues(ctx, args); err == nil {
			rs, err = s.inner.Query(values) //nolint:staticcheck // drivers without contexts
		}
	}
	return s.c.t.endQuery(span, s.query, true, args, rs, err, started)
}

func valuesToNamed(args []driver.Value) []driver.NamedValue {
	named := make([]driver.NamedValue, len(args))
	for i, v := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return named
}
