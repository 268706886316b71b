package xray

import (
	"runtime"
	"strconv"

	"github.com/openxray/xray/datagram"
	"github.com/openxray/xray/internal/jsonx"
)

// Encoding: an entity appended to a byte slice as a segment document's
// JSON, field by field, with no reflection on the hot path. tree.go decides
// what goes in each document.

// DaemonHeader starts every datagram sent to the daemon, before the document.
const DaemonHeader = datagram.Header

// MaxDocumentSize is the largest document sent: a UDP datagram over IPv4
// carries at most 65,507 bytes, header included.
const MaxDocumentSize = 65507 - len(DaemonHeader)

// Limits applied when a lone entity is still too large to send.
const truncatedQueryLen = 1000

// appendTruncated encodes e without what can be large (see shrink).
func (r *Recorder) appendTruncated(dst []byte, e *Segment) []byte {
	r.shrink(e, 1)
	dst = r.appendEntity(dst, e, e.parent != nil, false)
	if len(dst) <= MaxDocumentSize {
		return dst
	}
	r.shrink(e, 2)
	return r.appendEntity(dst[:0], e, e.parent != nil, false)
}

// shrink removes from e what makes it too large to send. Level 1: metadata
// goes, the query text and exceptions are cut, and metadata "openxray"
// records that the entity was truncated. Level 2 also drops annotations,
// aws fields, causes, the http and sql blocks (user data of unbounded
// count), keeping identity and timing. Holds root.st.mu.
func (r *Recorder) shrink(e *Segment, level int) {
	x := e.ext()
	x.truncated = true
	x.metadata = nil
	if e.st.sql != nil && len(e.st.sql.SanitizedQuery) > truncatedQueryLen {
		sql := *e.st.sql
		sql.SanitizedQuery = truncateRunes(sql.SanitizedQuery, truncatedQueryLen) + "..."
		e.st.sql = &sql
	}
	if c := x.cause; c != nil && len(c.exceptions) > 1 {
		c.skipped += len(c.exceptions) - 1
		c.exceptions = c.exceptions[:1]
	}
	if level >= 2 {
		x.annotations, x.aws, x.cause, x.http = nil, nil, nil, nil
		e.st.sql = nil
	}
}

// appendEntity appends e as a JSON object. independent adds the fields a
// subsegment sent on its own needs (type, trace_id, parent_id); children
// includes the closed, unsent subsegments.
func (r *Recorder) appendEntity(dst []byte, e *Segment, independent, children bool) []byte {
	root := e.root
	dst = append(dst, `{"name":`...)
	dst = jsonx.String(dst, e.st.name)
	dst = append(dst, `,"id":"`...)
	dst = append(dst, e.id[:]...)
	dst = append(dst, '"')
	if e.parent == nil || independent {
		dst = append(dst, `,"trace_id":"`...)
		dst = append(dst, root.traceID[:]...)
		dst = append(dst, '"')
	}
	if e.parent != nil && independent {
		dst = append(dst, `,"parent_id":"`...)
		dst = append(dst, e.parent.id[:]...)
		dst = append(dst, `","type":"subsegment"`...)
	} else if e.parent == nil && !root.st.parentID.isZero() {
		dst = append(dst, `,"parent_id":"`...)
		dst = append(dst, root.st.parentID[:]...)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"start_time":`...)
	dst = jsonx.Time(dst, e.st.start)
	if e.st.closed {
		dst = append(dst, `,"end_time":`...)
		dst = jsonx.Time(dst, e.st.end)
	} else {
		dst = append(dst, `,"in_progress":true`...)
	}
	if e.st.namespace != "" {
		dst = append(dst, `,"namespace":`...)
		dst = jsonx.String(dst, e.st.namespace)
	}
	if e.st.flags&flagFault != 0 {
		dst = append(dst, `,"fault":true`...)
	}
	if e.st.flags&flagError != 0 {
		dst = append(dst, `,"error":true`...)
	}
	if e.st.flags&flagThrottle != 0 {
		dst = append(dst, `,"throttle":true`...)
	}
	x := e.st.x
	if e.parent == nil && r.origin != "" && (x == nil || x.origin == "") {
		dst = append(dst, `,"origin":`...)
		dst = jsonx.String(dst, r.origin)
	}
	if x != nil {
		if x.user != "" && e.parent == nil {
			dst = append(dst, `,"user":`...)
			dst = jsonx.String(dst, x.user)
		}
		if x.origin != "" && e.parent == nil {
			dst = append(dst, `,"origin":`...)
			dst = jsonx.String(dst, x.origin)
		}
		if x.http != nil {
			dst = appendHTTP(dst, x.http)
		}
	}
	dst = r.appendAWS(dst, e)
	if e.parent == nil {
		dst = append(dst, ',')
		dst = append(dst, r.serviceFields...)
	}
	if e.st.sql != nil {
		dst = appendSQL(dst, e.st.sql)
	}
	if x != nil {
		if len(x.annotations) > 0 {
			dst = appendAnnotations(dst, x.annotations)
		}
		if len(x.metadata) > 0 || x.truncated {
			dst = appendMetadata(dst, x.metadata, x.truncated)
		}
		if x.cause != nil && (len(x.cause.exceptions) > 0) {
			dst = r.appendCause(dst, x.cause)
		}
	}
	if children {
		first := true
		for _, c := range e.st.children {
			if !c.st.closed || c.st.emitted {
				continue
			}
			if first {
				dst = append(dst, `,"subsegments":[`...)
				first = false
			} else {
				dst = append(dst, ',')
			}
			dst = r.appendEntity(dst, c, false, true)
		}
		if !first {
			dst = append(dst, ']')
		}
	}
	return append(dst, '}')
}

func (r *Recorder) appendAWS(dst []byte, e *Segment) []byte {
	var fields []field
	if e.st.x != nil {
		fields = e.st.x.aws
	}
	isSegment := e.parent == nil
	if len(fields) == 0 && !isSegment {
		return dst
	}
	dst = append(dst, `,"aws":{`...)
	dst = appendFields(dst, fields, -1)
	if isSegment {
		if len(fields) > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, r.pluginFields...)
		dst = append(dst, `"xray":{`...)
		dst = append(dst, r.sdkFields...)
		if e.st.rule != "" {
			dst = append(dst, `,"sampling_rule_name":`...)
			dst = jsonx.String(dst, e.st.rule)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

func appendHTTP(dst []byte, h *HTTP) []byte {
	dst = append(dst, `,"http":{`...)
	rq := &h.Request
	mark := len(dst)
	dst = append(dst, `"request":{`...)
	n := 0
	dst = appendStringField(dst, &n, "method", rq.Method)
	dst = appendStringField(dst, &n, "url", rq.URL)
	dst = appendStringField(dst, &n, "user_agent", rq.UserAgent)
	dst = appendStringField(dst, &n, "client_ip", rq.ClientIP)
	if rq.XForwardedFor {
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `"x_forwarded_for":true`...)
		n++
	}
	if rq.Traced {
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `"traced":true`...)
		n++
	}
	if n == 0 {
		dst = dst[:mark]
	} else {
		dst = append(dst, '}')
	}
	rs := &h.Response
	if rs.Status != 0 || rs.ContentLength != 0 {
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `"response":{`...)
		sep := false
		if rs.Status != 0 {
			dst = append(dst, `"status":`...)
			dst = strconv.AppendInt(dst, int64(rs.Status), 10)
			sep = true
		}
		if rs.ContentLength != 0 {
			if sep {
				dst = append(dst, ',')
			}
			dst = append(dst, `"content_length":`...)
			dst = strconv.AppendInt(dst, rs.ContentLength, 10)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

func appendSQL(dst []byte, q *SQL) []byte {
	dst = append(dst, `,"sql":{`...)
	n := 0
	dst = appendStringField(dst, &n, "url", q.URL)
	dst = appendStringField(dst, &n, "connection_string", q.ConnectionString)
	dst = appendStringField(dst, &n, "sanitized_query", q.SanitizedQuery)
	dst = appendStringField(dst, &n, "database_type", q.DatabaseType)
	dst = appendStringField(dst, &n, "database_version", q.DatabaseVersion)
	dst = appendStringField(dst, &n, "driver_version", q.DriverVersion)
	dst = appendStringField(dst, &n, "user", q.User)
	dst = appendStringField(dst, &n, "preparation", q.Preparation)
	return append(dst, '}')
}

// appendStringField appends "name":"v" to an object that has *n fields so
// far, unless v is empty.
func appendStringField(dst []byte, n *int, name, v string) []byte {
	if v == "" {
		return dst
	}
	if *n > 0 {
		dst = append(dst, ',')
	}
	*n++
	dst = append(dst, '"')
	dst = append(dst, name...)
	dst = append(dst, `":`...)
	return jsonx.String(dst, v)
}

func appendAnnotations(dst []byte, as []field) []byte {
	dst = append(dst, `,"annotations":{`...)
	dst = appendFields(dst, as, maxAnnotationValue)
	return append(dst, '}')
}

func (r *Recorder) appendCause(dst []byte, c *cause) []byte {
	dst = append(dst, `,"cause":{"working_directory":`...)
	dst = jsonx.String(dst, r.workingDir)
	dst = append(dst, `,"exceptions":[`...)
	for i := range c.exceptions {
		ex := &c.exceptions[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"id":"`...)
		dst = append(dst, ex.id[:]...)
		dst = append(dst, `","type":`...)
		dst = jsonx.String(dst, ex.typ)
		dst = append(dst, `,"message":`...)
		dst = jsonx.StringLimit(dst, ex.message, 4096)
		if ex.remote {
			dst = append(dst, `,"remote":true`...)
		}
		if !ex.cause.isZero() {
			dst = append(dst, `,"cause":"`...)
			dst = append(dst, ex.cause[:]...)
			dst = append(dst, '"')
		}
		if i == 0 && c.skipped > 0 {
			dst = append(dst, `,"skipped":`...)
			dst = strconv.AppendInt(dst, int64(c.skipped), 10)
		}
		if len(ex.stack) > 0 {
			dst = appendStack(dst, ex.stack)
			if ex.truncated > 0 {
				dst = append(dst, `,"truncated":`...)
				dst = strconv.AppendInt(dst, int64(ex.truncated), 10)
			}
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

func appendStack(dst []byte, pcs []uintptr) []byte {
	dst = append(dst, `,"stack":[`...)
	first := true
	userFrames(pcs, func(f *runtime.Frame) bool {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, `{"path":`...)
		dst = jsonx.String(dst, f.File)
		dst = append(dst, `,"line":`...)
		dst = strconv.AppendInt(dst, int64(f.Line), 10)
		dst = append(dst, `,"label":`...)
		dst = jsonx.String(dst, f.Function)
		dst = append(dst, '}')
		return true
	})
	return append(dst, ']')
}

// userFrames calls fn for each frame of pcs that has a function or a file,
// leaving out the SDK's own frames above the user's call, until fn returns
// false.
func userFrames(pcs []uintptr, fn func(f *runtime.Frame) bool) {
	frames := runtime.CallersFrames(pcs)
	leading := true
	for {
		f, more := frames.Next()
		if leading && sdkFunction(f.Function) && more {
			continue
		}
		leading = false
		if (f.Function != "" || f.File != "") && !fn(&f) {
			return
		}
		if !more {
			return
		}
	}
}
