// Package sqltrace wraps database/sql drivers so that every call becomes an
// X-Ray subsegment with a full sql block. It is the engine behind
// xray.SQLContext and package xraysql.
//
// It does not import package xray (which imports it, for SQLContext): it
// records through tracehook.Span and begins subsegments through the hooks
// package xray sets when it is initialized.
package sqltrace

import "github.com/openxray/xray/internal/tracehook"

type (
	// SQL is the sql block.
	SQL = tracehook.SQL
	// Span is a subsegment being recorded.
	Span = tracehook.Span
)
