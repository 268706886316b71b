package xraypgx

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/openxray/xray/sqltrace"
)

// WithSQLCommenter appends the trace context to each statement as a
// sqlcommenter comment (traceparent and x-amzn-trace-id, naming the trace
// and the query's subsegment), so that PostgreSQL's logs and
// pg_stat_activity can be joined to traces. The recorded statement has no
// comment.
//
// pgx has no hook that rewrites statements, so the comment is added where
// the statement is written to the server: Connect and NewPool set this up;
// a configuration made by hand also needs
//
//	cfg.ConnConfig.BuildFrontend = tracer.BuildFrontend
//
// pgx caches statements in its default query mode, preparing each one once
// and reusing it: a comment there would name only the first call. So
// statements are commented only on connections whose default mode sends
// each statement's text every time: exec, simple_protocol or describe_exec
// (default_query_exec_mode in the DSN).
func WithSQLCommenter() Option {
	return optionFunc(func(c *config) { c.sql.SQLCommenter = true })
}

// commentModes are the query modes that send a statement's text with
// every call.
func commentMode(m pgx.QueryExecMode) bool {
	return m == pgx.QueryExecModeExec || m == pgx.QueryExecModeSimpleProtocol || m == pgx.QueryExecModeDescribeExec
}

// BuildFrontend is a pgconn.BuildFrontendFunc: the frontend pgx writes
// through, which adds the comment of the call in progress (WithSQLCommenter)
// to the statements it sends. Without WithSQLCommenter it is pgx's own.
func (t *Tracer) BuildFrontend(r io.Reader, w io.Writer) *pgproto3.Frontend {
	if !t.cfg.sql.SQLCommenter {
		return pgproto3.NewFrontend(r, w)
	}
	cw := &commentWriter{w: w}
	if conn, ok := w.(net.Conn); ok {
		t.writers.Store(conn, cw)
	}
	return pgproto3.NewFrontend(r, cw)
}

// commenting sets (or, with "", clears) the comment of conn's call in
// progress; it reports whether there is a writer to take it.
func (t *Tracer) commenting(ctx context.Context, conn *pgx.Conn) func() {
	if !t.cfg.sql.SQLCommenter || conn == nil || !commentMode(conn.Config().DefaultQueryExecMode) {
		return nil
	}
	pc := conn.PgConn()
	v, ok := t.writers.Load(pc.Conn())
	if !ok {
		return nil
	}
	cw := v.(*commentWriter)
	if cw.tracked.CompareAndSwap(false, true) {
		// Forget the writer when its connection is gone.
		runtime.AddCleanup(pc, func(key net.Conn) { t.writers.Delete(key) }, pc.Conn())
	}
	c := sqltrace.CommentSuffix(ctx)
	if c == "" {
		return nil
	}
	cw.comment.Store(&c)
	return func() { cw.comment.Store(nil) }
}

// commentWriter rewrites the Parse and Query messages it passes on while a
// comment is set. pgproto3's frontend writes whole messages; anything it
// cannot read with certainty is passed on unchanged.
type commentWriter struct {
	w       io.Writer
	comment atomic.Pointer[string]
	tracked atomic.Bool
	buf     []byte
	mu      sync.Mutex
}

func (cw *commentWriter) Write(p []byte) (int, error) {
	c := cw.comment.Load()
	if c == nil {
		return cw.w.Write(p)
	}
	cw.mu.Lock()
	defer cw.mu.Unlock()
	out, ok := rewrite(cw.buf[:0], p, *c)
	if !ok {
		return cw.w.Write(p)
	}
	cw.buf = out[:0]
	n, err := cw.w.Write(out)
	if err != nil {
		if n > 0 {
			n = 1 // some of it went: not safe to retry
		}
		return n, err
	}
	return len(p), nil
}

// rewrite appends p to dst with comment added to the statement of each
// Parse ('P') and simple Query ('Q') message. ok is false when p is not a
// sequence of whole messages.
func rewrite(dst, p []byte, comment string) ([]byte, bool) {
	for len(p) > 0 {
		if p[0] == 0 {
			// An untyped message (startup, cancel, SSL request): its
			// length comes first.
			if len(p) < 4 {
				return nil, false
			}
			n := int(binary.BigEndian.Uint32(p))
			if n < 4 || n > len(p) {
				return nil, false
			}
			dst, p = append(dst, p[:n]...), p[n:]
			continue
		}
		if len(p) < 5 {
			return nil, false
		}
		n := int(binary.BigEndian.Uint32(p[1:]))
		if n < 4 || 1+n > len(p) {
			return nil, false
		}
		msg := p[:1+n]
		p = p[1+n:]
		switch msg[0] {
		case 'P': // name\0 query\0 int16 n, n × int32
			body := msg[5:]
			name := cstring(body)
			if name < 0 {
				return nil, false
			}
			q := cstring(body[name+1:])
			if q < 0 {
				return nil, false
			}
			query := string(body[name+1 : name+1+q])
			rest := body[name+1+q+1:]
			commented := sqltrace.WithComment(query, comment)
			start := len(dst)
			dst = append(dst, 'P', 0, 0, 0, 0)
			dst = append(dst, body[:name+1]...)
			dst = append(dst, commented...)
			dst = append(dst, 0)
			dst = append(dst, rest...)
			binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-1))
		case 'Q': // query\0
			body := msg[5:]
			q := cstring(body)
			if q < 0 || q != len(body)-1 {
				return nil, false
			}
			commented := sqltrace.WithComment(string(body[:q]), comment)
			start := len(dst)
			dst = append(dst, 'Q', 0, 0, 0, 0)
			dst = append(dst, commented...)
			dst = append(dst, 0)
			binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-1))
		default:
			dst = append(dst, msg...)
		}
	}
	return dst, true
}

// cstring returns the index of the zero byte that ends b's first string,
// or -1.
func cstring(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}
