package sqltrace

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"reflect"
	"strconv"
	"strings"
	"syscall"
)

// class is how an error marks a subsegment.
type class uint8

const (
	classFault  class = iota // the database or the network failed
	classError               // the statement was refused: constraint, syntax, data
	classCancel              // the caller's context was cancelled
)

// dbError is what an error tells about itself: the SQLSTATE or the
// engine's error number.
type dbError struct {
	sqlState string
	number   int
	hasNum   bool
	engine   string // "mysql", "sqlite" or "" for the number's meaning
}

// inspect walks err's chain for a driver error and reads its code without
// importing any driver: SQLState() methods (pgx, lib/pq), the Number and
// SQLState fields of MySQL errors, and Code of SQLite errors.
func inspect(err error) dbError {
	var d dbError
	for e := err; e != nil; {
		if s, ok := e.(interface{ SQLState() string }); ok && d.sqlState == "" {
			d.sqlState = s.SQLState()
		}
		if c, ok := e.(interface{ Code() int }); ok && !d.hasNum {
			d.number, d.hasNum, d.engine = c.Code(), true, "sqlite"
		}
		v := reflect.ValueOf(e)
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				break
			}
			v = v.Elem()
		}
		if v.Kind() == reflect.Struct {
			pkg := v.Type().PkgPath()
			if f := v.FieldByName("Number"); f.IsValid() && f.CanUint() && !d.hasNum {
				d.number, d.hasNum, d.engine = int(f.Uint()), true, "mysql"
			}
			if f := v.FieldByName("SQLState"); f.IsValid() && f.Kind() == reflect.Array && f.Len() == 5 && d.sqlState == "" {
				var b [5]byte
				for i := range b {
					b[i] = byte(f.Index(i).Uint())
				}
				if b[0] != 0 {
					d.sqlState = string(b[:])
				}
			}
			if f := v.FieldByName("Code"); f.IsValid() && d.sqlState == "" && !d.hasNum {
				switch {
				case f.Kind() == reflect.String && len(f.String()) == 5:
					d.sqlState = f.String() // lib/pq's ErrorCode
				case f.CanInt() && strings.Contains(pkg, "sqlite"):
					d.number, d.hasNum, d.engine = int(f.Int()), true, "sqlite"
				}
			}
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return d
}

// classify decides the flag an error sets.
func classify(err error, d dbError) class {
	switch {
	case errors.Is(err, context.Canceled):
		return classCancel
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return classFault
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return classFault
	}
	if d.sqlState != "" && len(d.sqlState) == 5 {
		switch d.sqlState[:2] {
		case "08", "53", "57", "58", "XX", "HY", "40":
			// Connection, resources, operator intervention, system,
			// internal errors; transaction rollbacks (deadlock,
			// serialization) are the server's doing too.
			return classFault
		case "00", "01", "02":
			return classError // warnings surfaced as errors
		default:
			// Constraint violations (23), data exceptions (22), syntax
			// and access (42) and the rest: the statement was refused.
			if d.engine != "mysql" || d.number == 0 {
				return classError
			}
		}
	}
	if d.hasNum {
		switch d.engine {
		case "mysql":
			return classifyMySQL(d.number)
		case "sqlite":
			return classifySQLite(d.number)
		}
	}
	if d.sqlState != "" {
		return classError
	}
	return classFault
}

func classifyMySQL(n int) class {
	switch n {
	case 1040, 1041, 1042, 1043, 1047, 1053, 1077, 1081, 1105, 1135, 1152, 1153, 1158, 1159, 1160, 1161,
		1180, 1181, 1205, 1213, 1290, 1317, 1836, 2002, 2003, 2006, 2013, 2055:
		// Connections, resources, shutdown, timeouts, deadlocks,
		// read-only server, lost connection.
		return classFault
	}
	if n >= 2000 && n < 3000 {
		return classFault // client library errors: connection trouble
	}
	// 1062 duplicate, 1451/1452 foreign keys, 1048 null, 1064 syntax,
	// 1146 no table, 3819 check constraint and the other refusals.
	return classError
}

func classifySQLite(code int) class {
	switch code & 0xff {
	case 1, 12, 18, 19, 20, 25:
		// SQLITE_ERROR (syntax, missing table), NOTFOUND, TOOBIG,
		// CONSTRAINT, MISMATCH, RANGE: the statement was refused.
		return classError
	}
	return classFault // BUSY, LOCKED, NOMEM, IOERR, FULL, CANTOPEN, ...
}

// causeError is the exception recorded for a database error: its message
// with quoted values removed, the SQLSTATE or error number, and the type
// of the driver's error. It does not unwrap, so the raw messages of the
// errors it wraps are not recorded.
type causeError struct {
	msg, typ string
}

func (e *causeError) Error() string     { return e.msg }
func (e *causeError) ErrorType() string { return e.typ }

func newCause(err error, d dbError, raw bool) *causeError {
	msg := err.Error()
	if !raw {
		msg = scrubQuoted(msg)
	}
	switch {
	case d.sqlState != "" && !strings.Contains(msg, d.sqlState):
		msg += " (SQLSTATE " + d.sqlState + ")"
	case d.hasNum && !strings.Contains(msg, strconv.Itoa(d.number)):
		msg += " (error " + strconv.Itoa(d.number) + ")"
	}
	t := reflect.TypeOf(err).String()
	return &causeError{msg: msg, typ: t}
}

// scrubQuoted hides the values that database error messages quote
// (MySQL: Duplicate entry 'alice@example.com' for key ...; PostgreSQL:
// invalid input syntax for type integer: "abc"). A quoted value may itself
// hold any quote character, so quotes cannot be paired: everything from
// the first quote to the last one becomes ?, and an unbalanced quote hides
// the rest of the message.
func scrubQuoted(s string) string {
	first := strings.IndexAny(s, "'\"`")
	if first < 0 {
		return s
	}
	last := strings.LastIndexAny(s, "'\"`")
	if last == first {
		return s[:first+1] + "?"
	}
	return s[:first+1] + "?" + s[last:]
}
