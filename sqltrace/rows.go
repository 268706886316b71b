package sqltrace

import (
	"database/sql/driver"
	"io"
	"reflect"
	"time"

	"github.com/openxray/xray"
)

// rows are the traced rows of a query: its subsegment stays open until
// they are closed, and records how many were read.
//
// The optional column-type and result-set interfaces are always offered;
// for a driver without one, each answers exactly what database/sql assumes
// when the interface is missing.
type rows struct {
	inner   driver.Rows
	t       *tracer
	span    *xray.Segment
	sql     *xray.SQL
	started time.Time
	read    int64
	err     error
	closed  bool
}

func (r *rows) Columns() []string { return r.inner.Columns() }

func (r *rows) Next(dest []driver.Value) error {
	err := r.inner.Next(dest)
	switch {
	case err == nil:
		r.read++
	case err != io.EOF && r.err == nil:
		r.err = err
	}
	return err
}

func (r *rows) Close() error {
	err := r.inner.Close()
	if !r.closed {
		r.closed = true
		r.span.AddMetadataToNamespace("sql", "rows_read", r.read)
		if r.err == nil {
			r.err = err
		}
		r.t.finish(r.span, r.sql, r.err, r.started)
	}
	return err
}

func (r *rows) HasNextResultSet() bool {
	if rs, ok := r.inner.(driver.RowsNextResultSet); ok {
		return rs.HasNextResultSet()
	}
	return false
}

func (r *rows) NextResultSet() error {
	if rs, ok := r.inner.(driver.RowsNextResultSet); ok {
		return rs.NextResultSet()
	}
	return io.EOF
}

var anyType = reflect.TypeFor[any]()

func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	if c, ok := r.inner.(driver.RowsColumnTypeScanType); ok {
		return c.ColumnTypeScanType(i)
	}
	return anyType
}

func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	if c, ok := r.inner.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return c.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *rows) ColumnTypeLength(i int) (int64, bool) {
	if c, ok := r.inner.(driver.RowsColumnTypeLength); ok {
		return c.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *rows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if c, ok := r.inner.(driver.RowsColumnTypeNullable); ok {
		return c.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *rows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if c, ok := r.inner.(driver.RowsColumnTypePrecisionScale); ok {
		return c.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}
