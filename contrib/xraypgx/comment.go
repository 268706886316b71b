package xraypgx

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/openxray/xray/sqltrace"
)

// SQLComment appends the trace context to a statement as a sqlcommenter
// comment (traceparent and x-amzn-trace-id, naming the trace and the
// query's subsegment), so that PostgreSQL's logs and pg_stat_activity can
// be joined to traces. pgx rewrites statements only per call, through a
// pgx.QueryRewriter given as an argument, so SQLComment is passed to the
// calls to comment, before their arguments:
//
//	rows, err := pool.Query(ctx, "SELECT name FROM users WHERE id = $1", xraypgx.SQLComment{}, id)
//
// The recorded statement has no comment. pgx caches statements by their
// text in its default query mode, and a comment differs on every call: so
// on a connection whose default mode caches (cache_statement,
// cache_describe) the statement is left as it is, unless Always is set.
// Set default_query_exec_mode=exec (or simple_protocol, describe_exec) to
// have the comments without defeating the cache.
type SQLComment struct {
	// Always comments even on a connection whose default mode caches
	// statements by text (for calls that pass pgx.QueryExecModeExec).
	Always bool
}

var _ pgx.QueryRewriter = SQLComment{}

// RewriteQuery implements pgx.QueryRewriter.
func (c SQLComment) RewriteQuery(ctx context.Context, conn *pgx.Conn, sql string, args []any) (string, []any, error) {
	if !c.Always && conn != nil {
		switch conn.Config().DefaultQueryExecMode {
		case pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheDescribe:
			return sql, args, nil
		}
	}
	return sqltrace.AppendComment(ctx, sql), args, nil
}
