// Package tracehook connects the integrations that package xray itself
// re-exports (database/sql, HTTP) to the recorder without an import cycle:
// they record through the Span interface, which *xray.Segment implements,
// and begin entities through functions package xray sets in its init.
package tracehook

import (
	"context"

	"github.com/openxray/xray/header"
	"github.com/openxray/xray/sampling"
)

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

// HTTPRequest is the request part of an http block (xray.HTTPRequest is
// this type). Empty fields are left out.
type HTTPRequest struct {
	Method    string
	URL       string
	UserAgent string
	ClientIP  string
	// XForwardedFor marks ClientIP as read from X-Forwarded-For.
	XForwardedFor bool
	// Traced marks an outgoing call to a service that is traced too.
	Traced bool
}

// Span is a segment or subsegment being recorded.
type Span interface {
	ID() string
	TraceID() string
	AppendTraceID(dst []byte) []byte
	Sampled() bool
	DownstreamHeader() *header.Header
	SetName(string)
	SetSQL(*SQL)
	SetHTTPRequest(HTTPRequest)
	SetHTTPResponse(status int, contentLength int64)
	AddCause(err error, remote bool)
	AddFaultFlag()
	AddErrorFlag()
	AddThrottleFlag()
	AddAnnotation(key string, value any) error
	AddMetadataToNamespace(namespace, key string, value any) error
	RecordPanic(v any)
	Close(err error)
	Discard()
}

// The hooks; package xray sets them in its init function.
var (
	// BeginSegment begins a segment with the default recorder, continuing
	// the trace of h when it is not nil. It returns a nil Span when the
	// SDK is disabled; an unsampled segment is a Span whose Sampled is
	// false.
	BeginSegment func(ctx context.Context, name string, h *header.Header, req sampling.Request) (context.Context, Span)
	// BeginSubsegment begins a recorded subsegment under parent, or under
	// the entity in ctx when parent is nil. It returns a nil Span when the
	// call is not recorded; found reports whether there was an entity.
	BeginSubsegment func(ctx context.Context, parent Span, name, namespace string) (_ context.Context, _ Span, found bool)
	// FromContext returns the entity in ctx, sampled or not, or nil.
	FromContext func(ctx context.Context) Span
	// ContextMissing tells the default recorder's context-missing strategy.
	ContextMissing func(what string)
)
