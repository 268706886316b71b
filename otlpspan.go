package xray

import (
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

// OTLP encoding: an entity appended as an OpenTelemetry Span message
// (opentelemetry/proto/trace/v1/trace.proto), field by field with
// protowire, with no intermediate structs. The mapping follows the
// conventions AWS documents for X-Ray and OpenTelemetry (those of the
// collector's awsxray receiver and exporter):
//
//   - a segment is a SERVER span; a subsegment in namespace "remote" a
//     CLIENT span; one in namespace "aws" a CLIENT span with
//     rpc.system=aws-api; any other an INTERNAL span;
//   - the trace ID is the X-Ray trace ID's 32 hex digits, the span ID the
//     entity ID;
//   - annotations are attributes, their keys listed in aws.xray.annotations
//     so X-Ray indexes them; metadata is one attribute per namespace,
//     aws.xray.metadata.<namespace>, holding the namespace's JSON object;
//   - the sql and http blocks become the database and HTTP semantic
//     conventions, with the sanitized statement only;
//   - fault is status Error; error and throttle are aws.xray.error and
//     aws.xray.throttle; causes are "exception" events.

// Field numbers of the OTLP messages written here.
const (
	// ExportTraceServiceRequest
	pbRequestResourceSpans = 1
	// ResourceSpans
	pbResourceSpansResource = 1
	pbResourceSpansScope    = 2
	// Resource, InstrumentationScope, Span, Event
	pbResourceAttributes = 1
	pbScopeName          = 1
	pbScopeVersion       = 2
	// ScopeSpans
	pbScopeSpansScope = 1
	pbScopeSpansSpans = 2
	// Span
	pbSpanTraceID    = 1
	pbSpanID         = 2
	pbSpanTraceState = 3
	pbSpanParentID   = 4
	pbSpanName       = 5
	pbSpanKind       = 6
	pbSpanStart      = 7
	pbSpanEnd        = 8
	pbSpanAttributes = 9
	pbSpanEvents     = 11
	pbSpanStatus     = 15
	pbSpanFlags      = 16
	// Event
	pbEventTime       = 1
	pbEventName       = 2
	pbEventAttributes = 3
	// Status
	pbStatusMessage = 2
	pbStatusCode    = 3
	// KeyValue, AnyValue, ArrayValue
	pbKey         = 1
	pbValue       = 2
	pbStringValue = 1
	pbBoolValue   = 2
	pbIntValue    = 3
	pbDoubleValue = 4
	pbArrayValue  = 5
	pbArrayValues = 1
)

// Span kinds and status codes of OTLP.
const (
	spanKindInternal = 1
	spanKindServer   = 2
	spanKindClient   = 3
	statusError      = 2
	// Span flags: the parent's "is remote" bit is known (0x100) and set
	// (0x200), and the W3C sampled flag.
	spanFlagsSampled      = 0x01
	spanFlagsHasIsRemote  = 0x100
	spanFlagsIsRemote     = 0x200
	otlpMaxSpanSize       = 200 << 10 // X-Ray's OTLP endpoint's limit per span
	otlpStackTraceMaxSize = 16 << 10
)

// beginMessage appends the tag of a length-delimited field and one byte
// reserved for its length; endMessage writes the length once the content
// is appended, moving the content when the length takes more than a byte.
func beginMessage(b []byte, num protowire.Number) ([]byte, int) {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return append(b, 0), len(b) + 1
}

func endMessage(b []byte, mark int) []byte {
	n := len(b) - mark
	if n < 0x80 {
		b[mark-1] = byte(n)
		return b
	}
	extra := protowire.SizeVarint(uint64(n)) - 1
	for range extra {
		b = append(b, 0)
	}
	copy(b[mark+extra:], b[mark:mark+n])
	protowire.AppendVarint(b[:mark-1], uint64(n))
	return b
}

func appendPBString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// appendHexBytes appends a bytes field holding the binary value of the
// hex digits in parts (lower case, even lengths).
func appendHexBytes(b []byte, num protowire.Number, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p) / 2
	}
	b = append(b, byte(num)<<3|byte(protowire.BytesType), byte(n))
	for _, p := range parts {
		for i := 0; i+1 < len(p); i += 2 {
			b = append(b, hexValue[p[i]]<<4|hexValue[p[i+1]])
		}
	}
	return b
}

// hexValue maps a hex digit to its value.
var hexValue = func() (t [256]byte) {
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()

// attrs appends KeyValue messages as field num of the enclosing message.
// prefix, when set, goes before every key.
type attrs struct {
	b      []byte
	num    protowire.Number
	prefix string
}

func (a *attrs) begin(key string) int {
	var mark int
	a.b, mark = beginMessage(a.b, a.num)
	a.b = protowire.AppendTag(a.b, pbKey, protowire.BytesType)
	a.b = protowire.AppendVarint(a.b, uint64(len(a.prefix)+len(key)))
	a.b = append(a.b, a.prefix...)
	a.b = append(a.b, key...)
	return mark
}

func (a *attrs) str(key, v string) {
	if v == "" {
		return
	}
	// The lengths are known: no reserved byte to fix up afterwards.
	kl := len(a.prefix) + len(key)
	anyLen := 1 + varintSize(len(v)) + len(v)
	kvLen := 1 + varintSize(kl) + kl + 1 + varintSize(anyLen) + anyLen
	b := append(a.b, byte(a.num)<<3|byte(protowire.BytesType))
	b = appendVarint(b, kvLen)
	b = append(b, pbKey<<3|byte(protowire.BytesType))
	b = appendVarint(b, kl)
	b = append(b, a.prefix...)
	b = append(b, key...)
	b = append(b, pbValue<<3|byte(protowire.BytesType))
	b = appendVarint(b, anyLen)
	b = append(b, pbStringValue<<3|byte(protowire.BytesType))
	b = appendVarint(b, len(v))
	a.b = append(b, v...)
}

func varintSize(n int) int {
	if n < 0x80 {
		return 1
	}
	return protowire.SizeVarint(uint64(n))
}

func appendVarint(b []byte, n int) []byte {
	if n < 0x80 {
		return append(b, byte(n))
	}
	return protowire.AppendVarint(b, uint64(n))
}

func (a *attrs) boolean(key string, v bool) {
	mark := a.begin(key)
	var vm int
	a.b, vm = beginMessage(a.b, pbValue)
	a.b = protowire.AppendTag(a.b, pbBoolValue, protowire.VarintType)
	a.b = protowire.AppendVarint(a.b, protowire.EncodeBool(v))
	a.b = endMessage(a.b, vm)
	a.b = endMessage(a.b, mark)
}

func (a *attrs) integer(key string, v int64) {
	mark := a.begin(key)
	var vm int
	a.b, vm = beginMessage(a.b, pbValue)
	a.b = protowire.AppendTag(a.b, pbIntValue, protowire.VarintType)
	a.b = protowire.AppendVarint(a.b, uint64(v))
	a.b = endMessage(a.b, vm)
	a.b = endMessage(a.b, mark)
}

// value appends an annotation's or aws field's value with its own type:
// strings, bools, integers and floats as such, anything else as its JSON.
func (a *attrs) value(key string, v *value, strLimit int) {
	mark := a.begin(key)
	var vm int
	a.b, vm = beginMessage(a.b, pbValue)
	switch v.kind {
	case kindString:
		s := v.str
		if strLimit >= 0 {
			s = truncateRunes(s, strLimit)
		}
		a.b = appendPBString(a.b, pbStringValue, s)
	case kindBool:
		a.b = protowire.AppendTag(a.b, pbBoolValue, protowire.VarintType)
		a.b = protowire.AppendVarint(a.b, v.num)
	case kindInt:
		a.b = protowire.AppendTag(a.b, pbIntValue, protowire.VarintType)
		a.b = protowire.AppendVarint(a.b, v.num)
	case kindUint:
		if v.num <= math.MaxInt64 {
			a.b = protowire.AppendTag(a.b, pbIntValue, protowire.VarintType)
			a.b = protowire.AppendVarint(a.b, v.num)
		} else {
			a.b = protowire.AppendTag(a.b, pbDoubleValue, protowire.Fixed64Type)
			a.b = protowire.AppendFixed64(a.b, math.Float64bits(float64(v.num)))
		}
	case kindFloat:
		a.b = protowire.AppendTag(a.b, pbDoubleValue, protowire.Fixed64Type)
		a.b = protowire.AppendFixed64(a.b, v.num)
	default:
		a.b = appendPBString(a.b, pbStringValue, v.str)
	}
	a.b = endMessage(a.b, vm)
	a.b = endMessage(a.b, mark)
}

// rawString appends a string attribute whose value is written by fn.
func (a *attrs) rawString(key string, fn func([]byte) []byte) {
	mark := a.begin(key)
	var vm, sm int
	a.b, vm = beginMessage(a.b, pbValue)
	a.b, sm = beginMessage(a.b, pbStringValue)
	a.b = fn(a.b)
	a.b = endMessage(a.b, sm)
	a.b = endMessage(a.b, vm)
	a.b = endMessage(a.b, mark)
}

// appendSpans appends e and its closed, unsent subsegments (the entities
// its document carries), each as field spans of a ScopeSpans message, and
// returns the number of spans. Holds root.st.mu.
func (r *Recorder) appendSpans(b []byte, e *Segment) ([]byte, int) {
	start := len(b)
	b = r.appendSpan(b, e)
	if len(b)-start > otlpMaxSpanSize {
		r.otlp.truncated.Add(1)
		r.shrink(e, 1)
		b = r.appendSpan(b[:start], e)
		if len(b)-start > otlpMaxSpanSize {
			r.shrink(e, 2)
			b = r.appendSpan(b[:start], e)
		}
	}
	n := 1
	for _, c := range e.st.children {
		if c.st.closed && !c.st.emitted {
			var k int
			b, k = r.appendSpans(b, c)
			n += k
		}
	}
	return b, n
}

// appendSpan appends e as a Span message, field spans of ScopeSpans.
func (r *Recorder) appendSpan(b []byte, e *Segment) []byte {
	root := e.root
	b, mark := beginMessage(b, pbScopeSpansSpans)
	t := &root.traceID
	b = appendHexBytes(b, pbSpanTraceID, t[2:10], t[11:])
	b = appendHexBytes(b, pbSpanID, e.id[:])
	if ts := root.tstate(); ts != "" {
		b = appendPBString(b, pbSpanTraceState, ts)
	}
	flags := uint32(spanFlagsSampled | spanFlagsHasIsRemote)
	if e.parent != nil {
		b = appendHexBytes(b, pbSpanParentID, e.parent.id[:])
	} else if !root.st.parentID.isZero() {
		b = appendHexBytes(b, pbSpanParentID, root.st.parentID[:])
		flags |= spanFlagsIsRemote
	}
	b = appendPBString(b, pbSpanName, e.st.name)
	kind := spanKindInternal
	switch {
	case e.parent == nil:
		kind = spanKindServer
	case e.st.namespace == "remote", e.st.namespace == "aws":
		kind = spanKindClient
	}
	b = protowire.AppendTag(b, pbSpanKind, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(kind))
	b = protowire.AppendTag(b, pbSpanStart, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, uint64(e.st.start))
	b = protowire.AppendTag(b, pbSpanEnd, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, uint64(e.st.end))

	a := attrs{b: b, num: pbSpanAttributes}
	r.spanAttributes(&a, e)
	b = a.b

	x := e.st.x
	if x != nil && x.cause != nil {
		b = r.appendExceptionEvents(b, e, x.cause)
	}
	if e.st.flags&flagFault != 0 {
		var sm int
		b, sm = beginMessage(b, pbSpanStatus)
		b = protowire.AppendTag(b, pbStatusCode, protowire.VarintType)
		b = protowire.AppendVarint(b, statusError)
		b = endMessage(b, sm)
	}
	b = protowire.AppendTag(b, pbSpanFlags, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, flags)
	return endMessage(b, mark)
}

func (r *Recorder) spanAttributes(a *attrs, e *Segment) {
	x := e.st.x
	if e.st.flags&flagError != 0 {
		a.boolean("aws.xray.error", true)
	}
	if e.st.flags&flagThrottle != 0 {
		a.boolean("aws.xray.throttle", true)
	}
	if e.st.flags&flagFault != 0 {
		a.boolean("aws.xray.fault", true)
	}
	if e.parent == nil {
		a.str("aws.xray.sampling_rule", e.st.rule)
		origin := r.origin
		if x != nil && x.origin != "" {
			origin = x.origin
		}
		a.str("aws.xray.origin", origin)
	}
	// The kind (and rpc.system) already say remote and aws.
	if ns := e.st.namespace; ns != "" && ns != "remote" && ns != "aws" {
		a.str("aws.xray.namespace", ns)
	}
	if x != nil {
		if e.parent == nil {
			a.str("enduser.id", x.user)
		}
		if x.http != nil {
			httpAttributes(a, x.http)
		}
		if len(x.aws) > 0 {
			awsAttributes(a, e, x.aws)
		}
	}
	if q := e.st.sql; q != nil {
		a.b = appendSQLAttributes(a.b, q)
		if x != nil && e.st.flags&(flagError|flagFault) != 0 {
			// The code sqltrace records with a database error.
			for i := range x.metadata {
				if m := &x.metadata[i]; m.ns == "sql" && m.key == "error_code" {
					a.value("db.response.status_code", &m.val, -1)
					break
				}
			}
		}
	}
	if x == nil {
		return
	}
	if len(x.annotations) > 0 {
		for i := range x.annotations {
			a.value(x.annotations[i].key, &x.annotations[i].val, maxAnnotationValue)
		}
		mark := a.begin("aws.xray.annotations")
		var vm, am int
		a.b, vm = beginMessage(a.b, pbValue)
		a.b, am = beginMessage(a.b, pbArrayValue)
		for i := range x.annotations {
			var sm int
			a.b, sm = beginMessage(a.b, pbArrayValues)
			a.b = appendPBString(a.b, pbStringValue, x.annotations[i].key)
			a.b = endMessage(a.b, sm)
		}
		a.b = endMessage(a.b, am)
		a.b = endMessage(a.b, vm)
		a.b = endMessage(a.b, mark)
	}
	if len(x.metadata) > 0 || x.truncated {
		metadataAttributes(a, x.metadata, x.truncated)
	}
}

// metadataAttributes appends one attribute per namespace,
// aws.xray.metadata.<namespace>, whose value is the namespace's JSON
// object, as in a segment document.
func metadataAttributes(a *attrs, entries []metaEntry, truncated bool) {
	for i := range entries {
		if !firstOfNamespace(entries, i) {
			continue
		}
		a.prefix = "aws.xray.metadata."
		a.rawString(entries[i].ns, func(b []byte) []byte { return appendNamespace(b, entries, i) })
		a.prefix = ""
	}
	if truncated {
		a.str("aws.xray.metadata.openxray", `{"truncated":true}`)
	}
}

func httpAttributes(a *attrs, h *HTTP) {
	rq := &h.Request
	a.str("http.request.method", rq.Method)
	a.str("url.full", rq.URL)
	a.str("user_agent.original", rq.UserAgent)
	a.str("client.address", rq.ClientIP)
	if rs := &h.Response; rs.Status != 0 {
		a.integer("http.response.status_code", int64(rs.Status))
	}
	if h.Response.ContentLength > 0 {
		a.integer("http.response.body.size", h.Response.ContentLength)
	}
}

// awsAttributes maps the aws block of an AWS SDK call: rpc.system, the
// service (the subsegment's name), operation, region, request ID and
// DynamoDB table names; the other fields keep their name under aws.
func awsAttributes(a *attrs, e *Segment, fields []field) {
	if e.parent != nil && e.st.namespace == "aws" {
		a.str("rpc.system", "aws-api")
		a.str("rpc.service", e.st.name)
	}
	for i := range fields {
		f := &fields[i]
		switch f.key {
		case "operation":
			a.value("rpc.method", &f.val, -1)
		case "region":
			a.value("aws.region", &f.val, -1)
		case "request_id":
			a.value("aws.request_id", &f.val, -1)
		case "table_name":
			if f.val.kind == kindString {
				mark := a.begin("aws.dynamodb.table_names")
				var vm, am, sm int
				a.b, vm = beginMessage(a.b, pbValue)
				a.b, am = beginMessage(a.b, pbArrayValue)
				a.b, sm = beginMessage(a.b, pbArrayValues)
				a.b = appendPBString(a.b, pbStringValue, f.val.str)
				a.b = endMessage(a.b, sm)
				a.b = endMessage(a.b, am)
				a.b = endMessage(a.b, vm)
				a.b = endMessage(a.b, mark)
			} else {
				a.value("aws.dynamodb.table_names", &f.val, -1)
			}
		default:
			a.prefix = "aws."
			a.value(f.key, &f.val, -1)
			a.prefix = ""
		}
	}
}

// sqlAttrCache keeps the encoded attributes of the last sql blocks seen:
// integrations share one *SQL per statement (SetSQL's contract), so a
// statement's attributes are derived and encoded once, not per span. A
// slot holds its *SQL alive, so an address is never reused while cached.
var sqlAttrCache [256]atomic.Pointer[sqlAttrEntry]

type sqlAttrEntry struct {
	q   *SQL
	enc []byte // KeyValue messages as Span.attributes fields
}

func appendSQLAttributes(b []byte, q *SQL) []byte {
	p := uintptr(unsafe.Pointer(q))
	slot := &sqlAttrCache[(p>>4^p>>12)&uintptr(len(sqlAttrCache)-1)]
	if e := slot.Load(); e != nil && e.q == q {
		return append(b, e.enc...)
	}
	a := attrs{num: pbSpanAttributes}
	sqlAttributes(&a, q)
	slot.Store(&sqlAttrEntry{q: q, enc: a.b})
	return append(b, a.b...)
}

// sqlAttributes maps the sql block to the database conventions. Only the
// sanitized statement is written, as on the UDP path; the connection
// string is not (its host and database are), nor the user.
func sqlAttributes(a *attrs, q *SQL) {
	a.str("db.system.name", dbSystem(q.DatabaseType))
	host, port, db := splitDatabaseURL(q.URL)
	a.str("db.namespace", db)
	a.str("server.address", host)
	if p, ok := parsePort(port); ok {
		a.integer("server.port", int64(p))
	}
	a.str("db.query.text", q.SanitizedQuery)
	a.str("db.operation.name", dbOperation(q.SanitizedQuery))
	a.str("db.collection.name", dbCollection(q.SanitizedQuery))
	a.str("db.system.version", q.DatabaseVersion)
	a.str("aws.xray.sql.driver_version", q.DriverVersion)
	a.str("aws.xray.sql.preparation", q.Preparation)
}

// parsePort reads a decimal port, without strconv's error allocation for
// the common empty case.
func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n > 0 && n < 65536
}

// dbSystem maps X-Ray's database_type to db.system.name's well-known
// values, lower case otherwise.
func dbSystem(t string) string {
	for _, m := range dbSystems {
		for _, name := range m.names {
			if strings.EqualFold(t, name) {
				return m.system
			}
		}
	}
	if t == "" {
		return ""
	}
	return strings.ToLower(t)
}

var dbSystems = []struct {
	system string
	names  []string
}{
	{"postgresql", []string{"postgresql", "postgres"}},
	{"mysql", []string{"mysql"}},
	{"mariadb", []string{"mariadb"}},
	{"sqlite", []string{"sqlite", "sqlite3"}},
	{"mongodb", []string{"mongodb"}},
	{"microsoft.sql_server", []string{"microsoft sql server", "sqlserver", "mssql"}},
	{"oracle.db", []string{"oracle"}},
	{"redis", []string{"redis"}},
}

// splitDatabaseURL returns the host, port and database of a URL-form
// address such as postgres://host:5432/db (which the sql block holds
// without its password), without allocating.
func splitDatabaseURL(u string) (host, port, db string) {
	i := strings.Index(u, "://")
	if i < 0 {
		return "", "", ""
	}
	rest := u[i+3:]
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = rest[at+1:]
	}
	hostport := rest
	if j := strings.IndexAny(rest, "/?"); j >= 0 {
		hostport = rest[:j]
		if rest[j] == '/' {
			db = rest[j+1:]
			if k := strings.IndexByte(db, '?'); k >= 0 {
				db = db[:k]
			}
		}
	}
	host = hostport
	if strings.HasPrefix(hostport, "[") {
		if k := strings.IndexByte(hostport, ']'); k >= 0 {
			host = hostport[1:k]
			if len(hostport) > k+2 && hostport[k+1] == ':' {
				port = hostport[k+2:]
			}
		}
	} else if k := strings.LastIndexByte(hostport, ':'); k >= 0 {
		host, port = hostport[:k], hostport[k+1:]
	}
	if strings.ContainsAny(host, "()") { // tcp(host:port) forms are not URLs
		host = ""
	}
	return host, port, db
}

// dbOperation returns a statement's first keyword in upper case when it
// already is, as most sanitized statements are; "" otherwise.
func dbOperation(q string) string {
	q = strings.TrimLeft(q, " \t\r\n(")
	end := 0
	for end < len(q) {
		c := q[end]
		if c < 'A' || c > 'Z' {
			if c >= 'a' && c <= 'z' {
				return strings.ToUpper(firstWord(q))
			}
			break
		}
		end++
	}
	return q[:end]
}

func firstWord(q string) string {
	end := 0
	for end < len(q) && (q[end] >= 'a' && q[end] <= 'z' || q[end] >= 'A' && q[end] <= 'Z') {
		end++
	}
	return q[:end]
}

// dbCollection returns the table a simple statement works on: the name
// after FROM, INTO, UPDATE or TABLE, when the statement names one
// table; "" when it is not clear.
func dbCollection(q string) string {
	op := dbOperation(q)
	var after string
	switch op {
	case "SELECT", "DELETE":
		after = "FROM"
	case "INSERT":
		after = "INTO"
	case "UPDATE":
		after = "UPDATE"
	default:
		return ""
	}
	i := indexWord(q, after)
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(q[i+len(after):], " \t\r\n")
	end := 0
	for end < len(rest) {
		c := rest[end]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == ',' || c == ';' || c == ')' {
			break
		}
		end++
	}
	name := rest[:end]
	if name == "" || strings.HasPrefix(name, "$") || strings.HasPrefix(name, "?") {
		return ""
	}
	// A join or a second table makes the answer ambiguous.
	if rest[end:] != "" && (indexWord(rest[end:], "JOIN") >= 0 || strings.HasPrefix(strings.TrimLeft(rest[end:], " "), ",")) {
		return ""
	}
	return strings.Trim(name, "`\"")
}

// indexWord finds word (upper case) in q as a whole word, in either case.
func indexWord(q, word string) int {
	for i := 0; i+len(word) <= len(q); i++ {
		if (i == 0 || !isIdentByte(q[i-1])) && strings.EqualFold(q[i:i+len(word)], word) &&
			(i+len(word) == len(q) || !isIdentByte(q[i+len(word)])) {
			return i
		}
	}
	return -1
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// appendExceptionEvents appends an "exception" event per recorded
// exception, with exception.type, exception.message and
// exception.stacktrace (Go's panic format: function, then file:line).
func (r *Recorder) appendExceptionEvents(b []byte, e *Segment, c *cause) []byte {
	for i := range c.exceptions {
		ex := &c.exceptions[i]
		var em int
		b, em = beginMessage(b, pbSpanEvents)
		b = protowire.AppendTag(b, pbEventTime, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, uint64(e.st.end))
		b = appendPBString(b, pbEventName, "exception")
		a := attrs{b: b, num: pbEventAttributes}
		a.str("exception.type", ex.typ)
		a.str("exception.message", truncateRunes(ex.message, 4096))
		if ex.remote {
			a.boolean("aws.xray.exception.remote", true)
		}
		if len(ex.stack) > 0 {
			a.rawString("exception.stacktrace", func(b []byte) []byte { return appendStackText(b, ex.stack) })
		}
		b = endMessage(a.b, em)
	}
	return b
}

// appendStackText appends a stack as Go prints a goroutine's: each frame's
// function, then a tab, file and line, skipping the SDK's own frames above
// the user's call.
func appendStackText(b []byte, pcs []uintptr) []byte {
	start := len(b)
	userFrames(pcs, func(f *runtime.Frame) bool {
		b = append(b, f.Function...)
		b = append(b, "\n\t"...)
		b = append(b, f.File...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(f.Line), 10)
		b = append(b, '\n')
		return len(b)-start <= otlpStackTraceMaxSize
	})
	return b
}
