package sqltrace

import (
	"context"
	"database/sql/driver"
	"io"
	"testing"
)

// Connections with every combination of the optional interfaces whose
// presence alone changes database/sql's behaviour.
type baseConn struct{}

func (baseConn) Prepare(string) (driver.Stmt, error) { return nil, io.EOF }
func (baseConn) Close() error                        { return nil }
func (baseConn) Begin() (driver.Tx, error)           { return nil, io.EOF }

type pingPart struct{}

func (pingPart) Ping(context.Context) error { return nil }

type resetPart struct{}

func (resetPart) ResetSession(context.Context) error { return nil }

type validPart struct{}

func (validPart) IsValid() bool { return true }

func TestConnKeepsInterfaceSet(t *testing.T) {
	conns := []driver.Conn{
		baseConn{},
		struct {
			baseConn
			pingPart
		}{},
		struct {
			baseConn
			resetPart
		}{},
		struct {
			baseConn
			validPart
		}{},
		struct {
			baseConn
			pingPart
			resetPart
		}{},
		struct {
			baseConn
			pingPart
			validPart
		}{},
		struct {
			baseConn
			resetPart
			validPart
		}{},
		struct {
			baseConn
			pingPart
			resetPart
			validPart
		}{},
	}
	tr := newTracer(Config{}, nil)
	for i, inner := range conns {
		w := wrapConn(inner, tr)
		for _, check := range []struct {
			name string
			has  func(any) bool
		}{
			{"Pinger", func(v any) bool { _, ok := v.(driver.Pinger); return ok }},
			{"SessionResetter", func(v any) bool { _, ok := v.(driver.SessionResetter); return ok }},
			{"Validator", func(v any) bool { _, ok := v.(driver.Validator); return ok }},
		} {
			if check.has(inner) != check.has(w) {
				t.Errorf("combination %d: %s is %v on the driver's connection, %v on the wrapper", i, check.name, check.has(inner), check.has(w))
			}
		}
		// Always offered, falling back as database/sql would.
		for _, v := range []any{w.(driver.ExecerContext), w.(driver.QueryerContext), w.(driver.ConnPrepareContext), w.(driver.ConnBeginTx), w.(driver.NamedValueChecker)} {
			_ = v
		}
		if u, ok := w.(interface{ Unwrap() driver.Conn }); !ok || u.Unwrap() != inner {
			t.Errorf("combination %d: Unwrap does not return the driver's connection", i)
		}
		if _, err := w.(driver.ExecerContext).ExecContext(context.Background(), "x", nil); err != driver.ErrSkip {
			t.Errorf("combination %d: ExecContext without Execer = %v, want ErrSkip", i, err)
		}
		if err := w.(driver.NamedValueChecker).CheckNamedValue(&driver.NamedValue{}); err != driver.ErrSkip {
			t.Errorf("combination %d: CheckNamedValue without checker = %v, want ErrSkip", i, err)
		}
	}
}

type plainConnector struct{}

func (plainConnector) Connect(context.Context) (driver.Conn, error) { return baseConn{}, nil }
func (plainConnector) Driver() driver.Driver                        { return plainDriver{} }

type closingConnector struct{ plainConnector }

func (closingConnector) Close() error { return nil }

type plainDriver struct{}

func (plainDriver) Open(string) (driver.Conn, error) { return baseConn{}, nil }

type ctxDriver struct{ plainDriver }

func (ctxDriver) OpenConnector(string) (driver.Connector, error) { return plainConnector{}, nil }

type plainStmt struct{}

func (plainStmt) Close() error                               { return nil }
func (plainStmt) NumInput() int                              { return -1 }
func (plainStmt) Exec([]driver.Value) (driver.Result, error) { return nil, io.EOF }
func (plainStmt) Query([]driver.Value) (driver.Rows, error)  { return nil, io.EOF }
func (plainStmt) ColumnConverter(int) driver.ValueConverter  { return driver.DefaultParameterConverter }

type noConverterStmt struct{ plainStmt }

func (noConverterStmt) ColumnConverter() {} // hides the method: not a ColumnConverter

func TestConnectorDriverStmtKeepInterfaceSet(t *testing.T) {
	if _, ok := Wrap(plainConnector{}, Config{}).(io.Closer); ok {
		t.Error("connector without Close became an io.Closer")
	}
	if _, ok := Wrap(closingConnector{}, Config{}).(io.Closer); !ok {
		t.Error("connector lost io.Closer")
	}
	if _, ok := WrapDriver(plainDriver{}, Config{}).(driver.DriverContext); ok {
		t.Error("driver without OpenConnector became a DriverContext")
	}
	if _, ok := WrapDriver(ctxDriver{}, Config{}).(driver.DriverContext); !ok {
		t.Error("driver lost DriverContext")
	}
	c := &conn{t: newTracer(Config{}, nil)}
	if _, ok := wrapStmt(&stmt{inner: plainStmt{}, c: c}).(driver.ColumnConverter); !ok {
		t.Error("statement lost ColumnConverter")
	}
	if _, ok := wrapStmt(&stmt{inner: noConverterStmt{}, c: c}).(driver.ColumnConverter); ok {
		t.Error("statement without ColumnConverter became one")
	}
	w := Wrap(plainConnector{}, Config{})
	if Wrap(w, Config{}) != w {
		t.Error("wrapping twice traces twice")
	}
}
