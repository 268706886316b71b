package sqltrace

import (
	"context"
	"log/slog"
	"net/url"
	"strings"

	"github.com/openxray/xray"
)

// sqlcommenter: the trace context appended to a statement as a comment in
// the format of https://google.github.io/sqlcommenter/, so that the
// database's own logs, pg_stat_activity and slow-query logs name the trace
// and the call:
//
//	SELECT 1 /*traceparent='00-<trace>-<span>-01',x-amzn-trace-id='Root%3D1-...%3BParent%3D...%3BSampled%3D1'*/
//
// traceparent is W3C's: the X-Ray trace ID without its dashes and the
// call's subsegment ID. Keys are sorted and values URL-encoded, as the
// format asks.

// comment returns query with the trace context of span (the call's
// subsegment) or of the entity in ctx appended, or query unchanged when
// there is none or the statement already ends with a comment.
func comment(ctx context.Context, span *xray.Segment, query string) string {
	if span == nil {
		span = xray.GetSegment(ctx)
	}
	return WithComment(query, suffix(span))
}

// suffix returns the comment naming span, with a leading space, or "".
func suffix(span *xray.Segment) string {
	if span == nil {
		return ""
	}
	var tid [40]byte
	traceID := span.AppendTraceID(tid[:0]) // 1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy
	if len(traceID) != 35 {
		return ""
	}
	flags := "00"
	sampled := "0"
	if span.Sampled() {
		flags, sampled = "01", "1"
	}
	id := span.ID()
	var b strings.Builder
	b.Grow(200)
	b.WriteString(" /*traceparent='00-")
	b.Write(traceID[2:10])
	b.Write(traceID[11:])
	b.WriteByte('-')
	b.WriteString(id)
	b.WriteByte('-')
	b.WriteString(flags)
	b.WriteString("',x-amzn-trace-id='")
	b.WriteString(url.QueryEscape("Root=" + string(traceID) + ";Parent=" + id + ";Sampled=" + sampled))
	b.WriteString("'*/")
	return b.String()
}

// CommentSuffix returns the sqlcommenter comment naming the entity in ctx,
// with a leading space, or "" when ctx holds none.
func CommentSuffix(ctx context.Context) string {
	return suffix(xray.GetSegment(ctx))
}

// WithComment returns query with the comment c (from CommentSuffix)
// appended: before a trailing semicolon, and not when c is empty or the
// statement already ends with a comment.
func WithComment(query, c string) string {
	if c == "" {
		return query
	}
	trimmed := strings.TrimRight(query, " \t\r\n")
	body, semi := trimmed, ""
	if strings.HasSuffix(body, ";") {
		body, semi = strings.TrimRight(body[:len(body)-1], " \t\r\n"), ";"
	}
	if strings.HasSuffix(body, "*/") {
		return query // a comment of the program's own, or ours already
	}
	return body + c + semi
}

// setupCommenter decides whether statements of this database get the
// comment: asked for, and not defeating a statement cache. pgx caches a
// prepared statement (or its description) per statement text unless its
// query mode says otherwise; a comment that differs on every call would
// make every call a new statement, so with pgx's caching modes statements
// are not commented.
func (t *tracer) setupCommenter(pkg string) {
	if !t.cfg.SQLCommenter {
		return
	}
	t.comment = true
	// pgx, directly or under GORM's PostgreSQL driver.
	usesPgx := strings.HasPrefix(pkg, "github.com/jackc/pgx") || strings.HasPrefix(pkg, "gorm.io/driver/postgres")
	if usesPgx && !pgxUncached(t.cfg.DSN) {
		t.comment = false
		slog.Default().Warn("xraysql: sqlcommenter is off for this database: pgx caches statements by their text, " +
			"and a comment per call would defeat the cache; set default_query_exec_mode=exec (or simple_protocol, describe_exec) in the DSN to have comments")
	}
}

// pgxUncached reports whether a pgx DSN picks a query mode without a
// statement cache.
func pgxUncached(dsn string) bool {
	mode := ""
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		mode = u.Query().Get("default_query_exec_mode")
	} else {
		pairs, _ := splitKeyValue(dsn)
		for _, p := range pairs {
			if p.key == "default_query_exec_mode" {
				mode = p.val
			}
		}
	}
	switch mode {
	case "exec", "simple_protocol", "describe_exec":
		return true
	}
	return false
}

// Comment returns query with the trace context of the entity in ctx
// appended, when the tracer comments statements (Config.SQLCommenter);
// query itself otherwise.
func (t *tracer) Comment(ctx context.Context, query string) string {
	if !t.comment {
		return query
	}
	return comment(ctx, nil, query)
}

// Commenting reports whether the tracer comments statements.
func (t *tracer) Commenting() bool { return t.comment }

// AppendComment returns query with the trace context of the entity in ctx
// appended as a sqlcommenter comment, whatever the tracer's settings: for
// integrations whose driver asks per call (pgx's QueryRewriter).
func AppendComment(ctx context.Context, query string) string { return comment(ctx, nil, query) }
