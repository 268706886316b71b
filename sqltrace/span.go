// Package sqltrace is the SQL tracing engine that package xraysql,
// xray.SQLContext and the contrib modules xraypgx and xraygorm share: it
// wraps database/sql drivers so that every call becomes an X-Ray
// subsegment with a full sql block, and gives integrations of other
// database APIs the same pieces through Tracer (statement → sql block with
// a sanitized statement and a cache, DSN scrubbing, error classes,
// transactions) and the sqlcommenter helpers (CommentSuffix, WithComment,
// AppendComment). Programs use xraysql; this package is for integrations.
//
// It does not import package xray (which imports it, for SQLContext): it
// records through Span and begins subsegments through the hooks package
// xray sets when it is initialized.
package sqltrace

import "github.com/openxray/xray/internal/tracehook"

type (
	// SQL is the sql block.
	SQL = tracehook.SQL
	// Span is a subsegment being recorded.
	Span = tracehook.Span
)
