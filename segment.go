package xray

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/openxray/xray/header"
)

// Segment is a segment (the work of one service for one request) or a
// subsegment (a unit of work inside it, such as a database query). Both
// kinds have the same methods.
//
// Every method is safe for concurrent use and safe on a nil *Segment, where
// it does nothing, so code can always write:
//
//	ctx, sub := xray.BeginSubsegment(ctx, "work")
//	defer sub.Close(nil)
//
// whether or not the request is traced. A segment that is not sampled is
// not nil (it carries the trace ID to propagate downstream) but records
// nothing.
type Segment struct {
	root   *Segment // the segment of the trace; itself for a segment
	parent *Segment // nil for a segment
	rec    *Recorder
	st     *state // what is recorded; nil when not sampled

	id      entityID
	traceID traceID // segment only
	// prop is the incoming trace header when it has pairs (Lineage,
	// vendors' keys) or a W3C tracestate to pass on; nil otherwise.
	// Segment only.
	prop *header.Header
}

// addl returns the trace header pairs to pass on.
func (s *Segment) addl() []header.KeyValue {
	if s.prop == nil {
		return nil
	}
	return s.prop.AdditionalData
}

// tstate returns the W3C tracestate to pass on.
func (s *Segment) tstate() string {
	if s.prop == nil {
		return ""
	}
	return s.prop.TraceState
}

// propagated keeps h when it has something to pass on.
func propagated(h *header.Header) *header.Header {
	if h == nil || (len(h.AdditionalData) == 0 && h.TraceState == "") {
		return nil
	}
	return h
}

// state is what a sampled entity records. It is allocated with the entity
// (see sampledCtx), so an unsampled segment does not pay for it.
type state struct {
	name  string
	start int64 // Unix nanoseconds
	end   int64

	// Segment only.
	mu       sync.Mutex // guards the state of every entity of the tree
	parentID entityID   // the upstream caller's ID, from the trace header
	rule     string     // sampling rule that decided
	waiting  int        // closed subsegments not yet emitted (streaming)
	// announced is set once an in-progress version of the segment has
	// been sent, ahead of the first subsegment sent before it.
	announced bool

	// Guarded by the segment's mu.
	closed    bool
	emitted   bool
	counted   bool // closed and counted in the segment's waiting
	flags     uint8
	namespace string
	children  []*Segment
	sql       *SQL
	x         *extra
}

// extra holds the fields most entities never set, so they cost one pointer.
type extra struct {
	user        string
	origin      string
	annotations []field
	metadata    []metaEntry
	aws         []field
	http        *HTTP // nil without an http block; see extHTTP
	cause       *cause
	truncated   bool

	// Room for the values most entities get, in the same allocation: a
	// database call's one metadata entry (rows read or affected), a
	// segment's first annotations.
	annBuf  [2]field
	metaBuf [1]metaEntry
}

// extraHTTP is extra with room for an http block, allocated at once for
// the entities whose first extra field is their http block (a request's
// segment, an outgoing call's subsegment).
type extraHTTP struct {
	extra
	h HTTP
}

const (
	flagFault uint8 = 1 << iota
	flagError
	flagThrottle
)

// Limits applied to what a segment records.
const (
	maxAnnotationValue = 1000 // characters of a string annotation
	maxUserLen         = 250
	maxExceptions      = 32 // per entity; more errors are counted as skipped
)

// Errors returned by the recording methods.
var (
	ErrInvalidAnnotationKey = errors.New("xray: annotation keys must be 1 to 500 of A-Z, a-z, 0-9 and _")
	ErrInvalidMetadataKey   = errors.New("xray: metadata namespace must not be empty or start with \"AWS.\"")
)

func (s *Segment) active() bool { return s != nil && s.st != nil }

func (s *Segment) lock()   { s.root.st.mu.Lock() }
func (s *Segment) unlock() { s.root.st.mu.Unlock() }

func (s *Segment) ext() *extra {
	if s.st.x == nil {
		x := &extra{}
		// Room for the few values most entities get, in the same allocation.
		x.annotations = x.annBuf[:0]
		x.metadata = x.metaBuf[:0]
		s.st.x = x
	}
	return s.st.x
}

// extHTTP returns the entity's extra fields with an http block.
func (s *Segment) extHTTP() *extra {
	if s.st.x == nil {
		c := &extraHTTP{}
		c.annotations = c.annBuf[:0]
		c.metadata = c.metaBuf[:0]
		c.http = &c.h
		s.st.x = &c.extra
		return &c.extra
	}
	if s.st.x.http == nil {
		s.st.x.http = &HTTP{}
	}
	return s.st.x
}

// ID returns the segment's 16-hex-digit ID, or "" for nil.
func (s *Segment) ID() string {
	if s == nil {
		return ""
	}
	return s.id.String()
}

// TraceID returns the ID of the trace the segment belongs to, or "" for nil.
func (s *Segment) TraceID() string {
	if s == nil {
		return ""
	}
	return s.root.traceID.String()
}

// SetName renames the segment, for names known only once the work is
// done, such as the route an HTTP request matched. Sampling rules saw the
// first name.
func (s *Segment) SetName(name string) {
	if !s.active() {
		return
	}
	name = sanitizeName(name)
	s.lock()
	s.st.name = name
	s.unlock()
}

// AppendTraceID appends the trace ID to dst, without allocating.
func (s *Segment) AppendTraceID(dst []byte) []byte {
	if s == nil {
		return dst
	}
	return append(dst, s.root.traceID[:]...)
}

// Name returns the (sanitized) name of the segment, or "" for a segment
// that is not sampled.
func (s *Segment) Name() string {
	if !s.active() {
		return ""
	}
	return s.st.name
}

// Sampled reports whether the segment is recorded.
func (s *Segment) Sampled() bool { return s.active() }

// Segment returns the segment of the trace: s itself for a segment, its
// segment for a subsegment.
func (s *Segment) Segment() *Segment {
	if s == nil {
		return nil
	}
	return s.root
}

// Parent returns the entity s was started in, or nil for a segment.
func (s *Segment) Parent() *Segment {
	if s == nil {
		return nil
	}
	return s.parent
}

// ParentID returns the ID of the entity s belongs to: for a subsegment, its
// parent's; for a recorded segment, the upstream caller's from the trace
// header it continued ("" when it began the trace). It is "" for a nil or
// unsampled segment.
func (s *Segment) ParentID() string {
	if !s.active() {
		return ""
	}
	if s.parent != nil {
		return s.parent.ID()
	}
	if s.st.parentID.isZero() {
		return ""
	}
	return s.st.parentID.String()
}

// CloseOnPanic, deferred directly (defer seg.CloseOnPanic()), records a
// panic of the function that deferred it as a fault with its stack, closes
// s and panics again with the same value, so the program fails as it would
// have. Without a panic it does nothing; on a nil or unsampled s it only
// re-panics.
func (s *Segment) CloseOnPanic() {
	if p := recover(); p != nil {
		s.RecordPanic(p)
		s.Close(nil)
		panic(p)
	}
}

// IsSubsegment reports whether s is a subsegment.
func (s *Segment) IsSubsegment() bool { return s != nil && s.parent != nil }

// DownstreamHeader returns the trace header to send with a call made inside
// s: the trace ID, s as the parent and the sampling decision.
func (s *Segment) DownstreamHeader() *header.Header {
	if s == nil {
		return &header.Header{}
	}
	h := &header.Header{TraceID: s.root.traceID.String(), ParentID: s.id.String(), SamplingDecision: header.NotSampled}
	if s.st != nil {
		h.SamplingDecision = header.Sampled
	}
	h.AdditionalData = s.root.addl()
	h.TraceState = s.root.tstate()
	return h
}

// AppendTraceParent appends to dst the W3C traceparent for a call made
// inside s (the trace ID, s as the parent span, the sampled flag), as
// DownstreamHeader().TraceParent() formats it, without allocating when dst
// has room. The tracestate to send with it is TraceState.
func (s *Segment) AppendTraceParent(dst []byte) []byte {
	if s == nil {
		return dst
	}
	t := &s.root.traceID
	dst = append(dst, "00-"...)
	dst = append(dst, t[2:10]...)
	dst = append(dst, t[11:]...)
	dst = append(dst, '-')
	dst = append(dst, s.id[:]...)
	if s.st != nil {
		return append(dst, "-01"...)
	}
	return append(dst, "-00"...)
}

// TraceState returns the W3C tracestate the trace's segment received with
// its traceparent, to pass on unchanged, or "".
func (s *Segment) TraceState() string {
	if s == nil {
		return ""
	}
	return s.root.tstate()
}

// AppendDownstreamHeader appends to dst the value of the X-Amzn-Trace-Id
// header for a call made inside s, as DownstreamHeader().String() formats
// it, without allocating when dst has room.
func (s *Segment) AppendDownstreamHeader(dst []byte) []byte {
	if s == nil {
		return dst
	}
	dst = append(dst, "Root="...)
	dst = append(dst, s.root.traceID[:]...)
	dst = append(dst, ";Parent="...)
	dst = append(dst, s.id[:]...)
	dst = append(dst, ';')
	if s.st != nil {
		dst = append(dst, header.Sampled...)
	} else {
		dst = append(dst, header.NotSampled...)
	}
	for _, kv := range s.root.addl() {
		dst = append(append(append(append(dst, ';'), kv.Key...), '='), kv.Value...)
	}
	return dst
}

// Close ends the segment. A non-nil err is recorded as a cause and sets the
// fault flag. Closing twice does nothing. A segment is sent to the daemon
// when it closes, with the subsegments that are closed by then; subsegments
// that close later are sent on their own.
func (s *Segment) Close(err error) {
	s.close(err, false)
}

// CloseAndStream ends the segment like Close. A subsegment is also sent at
// once as its own document instead of waiting for its segment.
func (s *Segment) CloseAndStream(err error) {
	s.close(err, true)
}

func (s *Segment) close(err error, stream bool) {
	if !s.active() {
		return
	}
	now := nowNano()
	var out docs
	s.lock()
	if s.st.closed {
		s.unlock()
		return
	}
	if err != nil {
		s.st.flags |= flagFault
		s.addCauseLocked(err, false, 3)
	}
	s.st.closed = true
	s.st.end = max(now, s.st.start)
	root := s.root
	switch {
	case s.parent == nil, s.parent.st.emitted, stream:
		// A segment, a subsegment whose parent has been sent, or one
		// asked to go now: send it with its closed subsegments.
		if s.parent != nil {
			s.rec.announce(root, &out)
		}
		s.rec.emitTree(s, &out)
		if s.parent != nil && !s.parent.st.emitted {
			s.parent.removeChild(s)
		}
	default:
		s.st.counted = true
		root.st.waiting++
		if t := s.rec.streamingThreshold; t > 0 && root.st.waiting > t {
			top := s.parent
			for top.parent != nil && !top.parent.st.emitted {
				top = top.parent
			}
			s.rec.announce(root, &out)
			s.rec.streamClosed(top, &out)
		}
	}
	s.unlock()
	out.emit(s.rec)
}

func (s *Segment) removeChild(c *Segment) {
	for i, x := range s.st.children {
		if x == c {
			copy(s.st.children[i:], s.st.children[i+1:])
			s.st.children[len(s.st.children)-1] = nil
			s.st.children = s.st.children[:len(s.st.children)-1]
			return
		}
	}
}

// Discard abandons an open subsegment that has no subsegments of its own:
// it is removed from its parent and never sent. Integrations use it when an
// operation turns out not to have happened, such as a database driver
// answering driver.ErrSkip.
func (s *Segment) Discard() {
	if !s.active() || s.parent == nil {
		return
	}
	s.lock()
	if !s.st.closed {
		s.st.closed, s.st.emitted = true, true
		if !s.parent.st.emitted {
			s.parent.removeChild(s)
		}
	}
	s.unlock()
}

// AddAnnotation records an indexed key-value pair, which X-Ray can search
// (annotation.key = "value"). The value must be a string, a bool or any Go
// integer or float type; strings are cut to 1,000 characters. Keys are 1 to
// 500 of A-Z, a-z, 0-9 and _. A repeated key replaces the earlier value.
// X-Ray indexes at most 50 annotations per trace: put the rest in metadata.
func (s *Segment) AddAnnotation(key string, value any) error {
	if !s.active() {
		return nil
	}
	if !validAnnotationKey(key) {
		return fmt.Errorf("%w: %q", ErrInvalidAnnotationKey, key)
	}
	val, ok := scalar(value)
	if !ok {
		return fmt.Errorf("xray: annotation %q: value of type %T is not a string, number or bool", key, value)
	}
	if val.kind == kindString && len(val.str) > maxAnnotationValue {
		val.str = truncateRunes(val.str, maxAnnotationValue)
	}
	s.lock()
	x := s.ext()
	x.annotations = setField(x.annotations, key, val)
	s.unlock()
	return nil
}

func validAnnotationKey(k string) bool {
	if len(k) == 0 || len(k) > 500 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// AddMetadata records a value in the default metadata namespace. Metadata
// is not indexed; it can hold any value encoding/json can marshal. The value
// is marshalled at once, so later changes to it are not recorded; a value
// that cannot be marshalled returns an error and is not recorded.
func (s *Segment) AddMetadata(key string, value any) error {
	return s.AddMetadataToNamespace("default", key, value)
}

// AddMetadataToNamespace records a value in a metadata namespace. Namespaces
// starting with "AWS." are reserved for AWS. Strings, bools and numbers are
// stored without marshalling or allocating.
func (s *Segment) AddMetadataToNamespace(namespace, key string, value any) error {
	if !s.active() {
		return nil
	}
	if namespace == "" || strings.HasPrefix(namespace, "AWS.") {
		return fmt.Errorf("%w: %q", ErrInvalidMetadataKey, namespace)
	}
	val, err := anyValue(value)
	if err != nil {
		return fmt.Errorf("xray: metadata %s.%s: %w", namespace, key, err)
	}
	s.lock()
	x := s.ext()
	x.metadata = setMeta(x.metadata, namespace, key, val)
	s.unlock()
	return nil
}

// AddMetadataString records a string in a metadata namespace without
// boxing it in an interface, for integrations on hot paths.
func (s *Segment) AddMetadataString(namespace, key, v string) {
	s.addMetadataValue(namespace, key, value{kind: kindString, str: v})
}

// AddMetadataInt records an integer in a metadata namespace without boxing
// it.
func (s *Segment) AddMetadataInt(namespace, key string, v int64) {
	s.addMetadataValue(namespace, key, intValue(v))
}

func (s *Segment) addMetadataValue(namespace, key string, val value) {
	if !s.active() || namespace == "" || strings.HasPrefix(namespace, "AWS.") {
		return
	}
	s.lock()
	x := s.ext()
	x.metadata = setMeta(x.metadata, namespace, key, val)
	s.unlock()
}

// AddError records err as a cause (its type, message and the caller's
// stack, with wrapped errors as linked exceptions) and sets the fault flag.
func (s *Segment) AddError(err error) error {
	if !s.active() || err == nil {
		return nil
	}
	s.lock()
	s.st.flags |= flagFault
	s.addCauseLocked(err, false, 3)
	s.unlock()
	return nil
}

// AddCause records err as a cause without setting any flag; integrations
// use it and set fault, error or throttle themselves. remote marks an
// error returned by a downstream service (a database, an AWS API).
func (s *Segment) AddCause(err error, remote bool) {
	if !s.active() || err == nil {
		return
	}
	s.lock()
	s.addCauseLocked(err, remote, 3)
	s.unlock()
}

// AddFaultFlag marks the segment as failed by a server-side error (5xx).
func (s *Segment) AddFaultFlag() { s.setFlag(flagFault) }

// AddErrorFlag marks the segment as failed by a client-side error (4xx).
func (s *Segment) AddErrorFlag() { s.setFlag(flagError) }

// AddThrottleFlag marks the segment as throttled (429). Throttling is a
// client error, so the error flag is set too.
func (s *Segment) AddThrottleFlag() { s.setFlag(flagThrottle | flagError) }

func (s *Segment) setFlag(f uint8) {
	if !s.active() {
		return
	}
	s.lock()
	s.st.flags |= f
	s.unlock()
}

// Fault, Error and Throttle report the segment's flags.
func (s *Segment) Fault() bool { return s.hasFlag(flagFault) }

// Error reports whether the error flag is set.
func (s *Segment) Error() bool { return s.hasFlag(flagError) }

// Throttle reports whether the throttle flag is set.
func (s *Segment) Throttle() bool { return s.hasFlag(flagThrottle) }

func (s *Segment) hasFlag(f uint8) bool {
	if !s.active() {
		return false
	}
	s.lock()
	defer s.unlock()
	return s.st.flags&f != 0
}

// SetUser records the user the request was made for (at most 250
// characters). It is recorded on segments only, as X-Ray expects.
func (s *Segment) SetUser(user string) {
	if !s.active() {
		return
	}
	if n := len(user); n > maxUserLen {
		user = truncateRunes(user, maxUserLen)
	}
	s.lock()
	s.root.ext().user = user
	s.unlock()
}

// SetOrigin records the type of AWS resource the service runs on, such as
// AWS::EC2::Instance, on the segment.
func (s *Segment) SetOrigin(origin string) {
	if !s.active() {
		return
	}
	s.lock()
	s.root.ext().origin = origin
	s.unlock()
}

// SetNamespace sets a subsegment's namespace: "remote" for calls to other
// services and databases, "aws" for AWS SDK calls.
func (s *Segment) SetNamespace(namespace string) {
	if !s.active() {
		return
	}
	s.lock()
	s.st.namespace = namespace
	s.unlock()
}

// SQL is the sql block of a subsegment for a database query. Empty fields
// are left out of the document.
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

// SetSQL sets the subsegment's sql block. The segment keeps the pointer:
// the caller must not change *sql afterwards, and may share one *SQL between
// subsegments (integrations cache them per statement).
func (s *Segment) SetSQL(sql *SQL) {
	if !s.active() {
		return
	}
	s.lock()
	s.st.sql = sql
	s.unlock()
}

// HTTP is the http block of a segment (the request served) or subsegment
// (an outgoing call).
type HTTP struct {
	Request  HTTPRequest
	Response HTTPResponse
}

// HTTPRequest describes an HTTP request. Empty fields are left out.
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

// HTTPResponse describes an HTTP response. Zero fields are left out.
type HTTPResponse struct {
	Status        int
	ContentLength int64
}

// SetHTTPRequest sets the request part of the http block.
func (s *Segment) SetHTTPRequest(r HTTPRequest) {
	if !s.active() {
		return
	}
	s.lock()
	s.extHTTP().http.Request = r
	s.unlock()
}

// SetHTTPResponse sets the response part of the http block.
func (s *Segment) SetHTTPResponse(status int, contentLength int64) {
	if !s.active() {
		return
	}
	s.lock()
	s.extHTTP().http.Response = HTTPResponse{Status: status, ContentLength: contentLength}
	s.unlock()
}

// SetAWS sets a field of the aws block, such as operation, region,
// request_id or table_name. The value is marshalled with encoding/json at
// once. The key "xray" is reserved for the SDK's own fields.
func (s *Segment) SetAWS(key string, value any) error {
	if !s.active() {
		return nil
	}
	if key == "" || key == "xray" {
		return fmt.Errorf("xray: aws field %q is reserved", key)
	}
	val, err := anyValue(value)
	if err != nil {
		return fmt.Errorf("xray: aws field %s: %w", key, err)
	}
	s.lock()
	x := s.ext()
	x.aws = setField(x.aws, key, val)
	s.unlock()
	return nil
}

func truncateRunes(s string, n int) string {
	count := 0
	for i := range s {
		if count == n {
			return s[:i]
		}
		count++
	}
	return s
}
