// Package sqltrace wraps database/sql drivers so that every call becomes an
// X-Ray subsegment with a full sql block. It is the engine behind
// xray.SQLContext and package xraysql.
//
// It does not import package xray (which imports it, for SQLContext):
// it records through the Span interface, which *xray.Segment implements,
// and begins spans through the hooks package xray sets when it is
// initialized.
package sqltrace

import "context"

// SQL is the sql block of a subsegment (xray.SQL is this type).
type SQL struct {
	// URL is the database's address without password, for URL-form DSNs.
	URL string
	// ConnectionString is used instead of URL for other DSN forms, with
	// passwords and tokens removed.
	ConnectionString string
	// SanitizedQuery is the statement with literal values replaced.
	SanitizedQuery string
	// DatabaseType is the engine, such as PostgreSQL, MySQL or SQLite.
	DatabaseType string
	// DatabaseVersion is the server's version.
	DatabaseVersion string
	// DriverVersion names the driver's module, such as
	// github.com/lib/pq@v1.10.9.
	DriverVersion string
	// User is the database user name.
	User string
	// Preparation is "statement" for prepared statements and "call" for
	// stored procedure calls.
	Preparation string
}

// Span is a subsegment being recorded.
type Span interface {
	SetSQL(*SQL)
	AddCause(err error, remote bool)
	AddFaultFlag()
	AddErrorFlag()
	AddAnnotation(key string, value any) error
	AddMetadataToNamespace(namespace, key string, value any) error
	Close(err error)
	Discard()
}

// Hooks connect the engine to the recorder; package xray sets them in its
// init function.
var (
	// Begin starts a subsegment with namespace "remote" under parent, or
	// under the entity in ctx when parent is nil. It returns a nil Span
	// when the call is not traced; found reports whether ctx (or parent)
	// had an entity at all.
	Begin func(ctx context.Context, parent Span, name string) (_ context.Context, _ Span, found bool)
	// ContextMissing tells the recorder's context-missing strategy.
	ContextMissing func(what string)
)
