// Package sqltrace is the SQL tracing engine that package xraysql and the
// contrib modules xraypgx and xraygorm share: it wraps database/sql drivers
// so that every call becomes an X-Ray subsegment with a full sql block, and
// gives integrations of other database APIs the same pieces through Tracer
// (statement → sql block with a sanitized statement and a cache, DSN
// scrubbing, error classes, transactions) and the sqlcommenter helpers
// (CommentSuffix, WithComment, AppendComment). Programs use xraysql; this
// package is for integrations.
//
// It records through the public API of package xray: a call's subsegment
// is a *xray.Segment begun under the segment of the call's context (or,
// in AWS Lambda, the invocation's facade; see xray.ParentSegment).
package sqltrace
