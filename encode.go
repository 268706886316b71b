package xray

import (
	"runtime"
	"strconv"

	"github.com/openxray/xray/datagram"
	"github.com/openxray/xray/internal/jsonx"
)

// DaemonHeader starts every datagram sent to the daemon, before the document.
const DaemonHeader = datagram.Header

// MaxDocumentSize is the largest document sent: a UDP datagram over IPv4
// carries at most 65,507 bytes, header included.
const MaxDocumentSize = 65507 - len(DaemonHeader)

// Limits applied when a lone entity is still too large to send.
const truncatedQueryLen = 1000

// docs collects the documents produced while the tree lock is held, to be
// handed to the emitter after it is released.
type docs struct {
	n      int
	inline [2][]byte
	more   [][]byte
}

func (d *docs) add(b []byte) {
	if d.n < len(d.inline) {
		d.inline[d.n] = b
	} else {
		d.more = append(d.more, b)
	}
	d.n++
}

func (d *docs) emit(r *Recorder) {
	for i := 0; i < d.n; i++ {
		if i < len(d.inline) {
			r.emit(d.inline[i])
		} else {
			r.emit(d.more[i-len(d.inline)])
		}
	}
}

// emit hands doc, a buffer of the pool, to r's emitter: the emitters of
// this package recycle it when done, any other keeps it.
func (r *Recorder) emit(doc []byte) {
	switch e := r.emitter.(type) {
	case *UDPEmitter:
		e.enqueue(doc)
	case DiscardEmitter:
		putBuffer(doc)
	default:
		e.Emit(doc)
	}
}

// emitTree encodes e with its closed subsegments as one document and marks
// them sent. A document over MaxDocumentSize is split: as many closed
// subsegments as fit stay in e's document, which goes first, and the
// others follow as documents of their own (split the same way); an entity
// still too large alone is truncated. Holds root.st.mu.
func (r *Recorder) emitTree(e *Segment, out *docs) {
	buf := r.appendEntity(getBuffer(), e, e.parent != nil, true)
	if len(buf) <= MaxDocumentSize {
		out.add(buf)
		r.markEmitted(e)
		return
	}
	// What e takes without its subsegments, and the room left for them.
	buf = r.appendEntity(buf[:0], e, e.parent != nil, false)
	room := MaxDocumentSize - len(buf) - len(`,"subsegments":[]`)
	var apart []*Segment
	for _, c := range e.st.children {
		if !c.st.closed || c.st.emitted {
			continue
		}
		buf = r.appendEntity(buf[:0], c, false, true)
		if need := len(buf) + 1; need <= room {
			room -= need
			continue
		}
		apart = append(apart, c)
		c.st.emitted = true // left out of e's document for now
	}
	buf = r.appendEntity(buf[:0], e, e.parent != nil, true)
	if len(buf) > MaxDocumentSize {
		buf = r.appendTruncated(buf[:0], e)
	}
	out.add(buf)
	for _, c := range apart {
		c.st.emitted = false
		r.emitTree(c, out)
	}
	r.markEmitted(e)
}

// announce sends an in-progress version of the open segment root, without
// subsegments, before the first subsegment that goes ahead of it, so that
// what points at the segment never arrives before it: X-Ray replaces the
// in-progress version with the complete one. Holds root.st.mu.
func (r *Recorder) announce(root *Segment, out *docs) {
	if root.st.announced || root.st.emitted || root.st.closed {
		return
	}
	root.st.announced = true
	out.add(r.appendEntity(getBuffer(), root, false, false))
}

func (r *Recorder) markEmitted(e *Segment) {
	e.st.emitted = true
	if e.st.counted {
		e.st.counted = false
		e.root.st.waiting--
	}
	for _, c := range e.st.children {
		if c.st.closed && !c.st.emitted {
			r.markEmitted(c)
		}
	}
	// Open children are on their own now: each is sent when it closes.
	clear(e.st.children)
	e.st.children = nil
}

// streamClosed sends every closed subtree under e, an open entity, ahead
// of it, so a long-running segment's memory stays bounded. Holds root.st.mu.
func (r *Recorder) streamClosed(e *Segment, out *docs) {
	kept := e.st.children[:0]
	for _, c := range e.st.children {
		switch {
		case c.st.emitted:
		case c.st.closed:
			r.emitTree(c, out)
		default:
			r.streamClosed(c, out)
			kept = append(kept, c)
		}
	}
	clear(e.st.children[len(kept):])
	e.st.children = kept
}

// appendTruncated encodes e without what can be large: metadata goes, the
// query text and exceptions are cut, and metadata "openxray" records that
// the entity was truncated.
func (r *Recorder) appendTruncated(dst []byte, e *Segment) []byte {
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
	dst = r.appendEntity(dst, e, e.parent != nil, false)
	if len(dst) <= MaxDocumentSize {
		return dst
	}
	// Still too large: annotations, aws fields and causes are user data of
	// unbounded count; keep only identity and timing.
	x.annotations, x.aws, x.cause, x.hasHTTP = nil, nil, nil, false
	e.st.sql = nil
	return r.appendEntity(dst[:0], e, e.parent != nil, false)
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
		if x.hasHTTP {
			dst = appendHTTP(dst, &x.http)
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
	frames := runtime.CallersFrames(pcs)
	first := true
	leading := true // skip the SDK's own frames above the user's call
	for {
		f, more := frames.Next()
		if leading && sdkFunction(f.Function) && more {
			continue
		}
		leading = false
		if f.Function != "" || f.File != "" {
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
		}
		if !more {
			break
		}
	}
	return append(dst, ']')
}

// Buffers are recycled through a bounded free list; a channel of slices
// costs no allocation per Get or Put, unlike a sync.Pool of slices.
var freeBuffers = make(chan []byte, 64)

const maxPooledBuffer = 64 << 10

func getBuffer() []byte {
	select {
	case b := <-freeBuffers:
		return b[:0]
	default:
		return make([]byte, 0, 2048)
	}
}

// putBuffer recycles b; the caller must not use it afterwards.
func putBuffer(b []byte) {
	if cap(b) > maxPooledBuffer || cap(b) == 0 {
		return
	}
	select {
	case freeBuffers <- b:
	default:
	}
}
