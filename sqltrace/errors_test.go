package sqltrace

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
)

// Errors shaped like the drivers' own (their fields and methods), for the
// classification table; the drivers' real errors are checked against real
// servers in xraysql/drivertest.
type pgLike struct{ code string }

func (e *pgLike) Error() string    { return "ERROR: boom (SQLSTATE " + e.code + ")" }
func (e *pgLike) SQLState() string { return e.code }

type mysqlLike struct {
	Number   uint16
	SQLState [5]byte
	Message  string
}

func (e *mysqlLike) Error() string { return fmt.Sprintf("Error %d: %s", e.Number, e.Message) }

type sqliteLike struct{ code int }

func (e *sqliteLike) Error() string { return "sqlite error" }
func (e *sqliteLike) Code() int     { return e.code }

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want class
	}{
		{"unique", &pgLike{"23505"}, classError},
		{"syntax", &pgLike{"42601"}, classError},
		{"admin shutdown", &pgLike{"57P01"}, classFault},
		{"connection", &pgLike{"08006"}, classFault},
		{"too many connections", &pgLike{"53300"}, classFault},
		{"wrapped", fmt.Errorf("saving: %w", &pgLike{"23503"}), classError},
		{"mysql duplicate", &mysqlLike{Number: 1062, SQLState: [5]byte{'2', '3', '0', '0', '0'}}, classError},
		{"mysql fk", &mysqlLike{Number: 1452}, classError},
		{"mysql too many", &mysqlLike{Number: 1040, SQLState: [5]byte{'0', '8', '0', '0', '4'}}, classFault},
		{"mysql lock wait", &mysqlLike{Number: 1205, SQLState: [5]byte{'H', 'Y', '0', '0', '0'}}, classFault},
		{"sqlite unique", &sqliteLike{2067}, classError},
		{"sqlite busy", &sqliteLike{5}, classFault},
		{"bad conn", driver.ErrBadConn, classFault},
		{"deadline", context.DeadlineExceeded, classFault},
		{"cancel", fmt.Errorf("q: %w", context.Canceled), classCancel},
		{"net", &net.OpError{Op: "dial", Err: errors.New("refused")}, classFault},
		{"unknown", errors.New("mystery"), classFault},
	}
	for _, tt := range tests {
		if got := classify(tt.err, inspect(tt.err)); got != tt.want {
			t.Errorf("%s: class %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestCauseMessage(t *testing.T) {
	err := &mysqlLike{Number: 1062, SQLState: [5]byte{'2', '3', '0', '0', '0'}, Message: "Duplicate entry 'alice@example.com' for key 'users.email'"}
	c := newCause(err, inspect(err), false)
	if strings.Contains(c.Error(), "alice") || !strings.Contains(c.Error(), "1062") || !strings.Contains(c.Error(), "SQLSTATE 23000") {
		t.Errorf("message = %q", c.Error())
	}
	if c.ErrorType() != "*sqltrace.mysqlLike" {
		t.Errorf("type = %q", c.ErrorType())
	}
	if raw := newCause(err, inspect(err), true); !strings.Contains(raw.Error(), "alice@example.com") {
		t.Errorf("raw message = %q", raw.Error())
	}
	for in, want := range map[string]string{
		`invalid input syntax for type integer: "abc"`: `invalid input syntax for type integer: "?"`,
		"unbalanced 'secret":                           "unbalanced '?",
		"no quotes":                                    "no quotes",
		`Duplicate entry 'it's a secret' for key 'users.email'`:    `Duplicate entry '?'`,
		`invalid input syntax for type integer: "12"3 secret"`:     `invalid input syntax for type integer: "?"`,
		"Data too long for column `a` at row 1; value 'x' secret`": "Data too long for column `?`",
	} {
		if got := scrubQuoted(in); got != want {
			t.Errorf("scrubQuoted(%q) = %q, want %q", in, got, want)
		}
	}
}
