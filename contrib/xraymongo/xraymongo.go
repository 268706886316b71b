// Package xraymongo traces go.mongodb.org/mongo-driver/v2: every command
// becomes an X-Ray subsegment named "<database>@<host:port>" in namespace
// "remote", with the command, collection and the shape of its query (keys
// and operators, every value replaced by "?") in metadata.
//
//	opts := options.Client().ApplyURI(uri).SetMonitor(xraymongo.NewMonitor())
//	client, err := mongo.Connect(opts)
//
// Documents are never recorded: not the inserted ones, not the values of a
// filter, unless WithRedactedCommands says how. WithAnnotations makes the
// command, database and collection searchable annotations.
package xraymongo

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openxray/xray"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Option configures the monitor.
type Option interface {
	apply(*config)
}

type config struct {
	maxShape    int
	redact      func(command bson.Raw) any
	annotations bool
	rec         *xray.Recorder
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithMaxShapeLength caps each recorded query shape, in bytes (default
// 1,000).
func WithMaxShapeLength(n int) Option { return optionFunc(func(c *config) { c.maxShape = n }) }

// WithRedactedCommands records, as metadata mongodb.command, what fn
// returns for each command: the user decides what of the documents may
// leave the program. Without it, only query shapes are recorded.
func WithRedactedCommands(fn func(command bson.Raw) any) Option {
	return optionFunc(func(c *config) { c.redact = fn })
}

// WithAnnotations also records the command's name, database and
// collection as annotations (mongodb_command_name, mongodb_database_name,
// mongodb_collection_name), which X-Ray indexes: traces can then be
// searched by them (annotation.mongodb_collection_name = "users"), as with
// the Python SDK's pymongo patch. Off by default: annotations count
// against X-Ray's limit of 50 per trace.
func WithAnnotations() Option { return optionFunc(func(c *config) { c.annotations = true }) }

// WithRecorder makes rec (instead of the default recorder) the one told
// about commands made outside any segment, and the one that records the facades
// of Lambda invocations; nil means the default recorder.
func WithRecorder(rec *xray.Recorder) Option { return optionFunc(func(c *config) { c.rec = rec }) }

func (c *config) recorder() *xray.Recorder {
	if c.rec != nil {
		return c.rec
	}
	return xray.Default()
}

// monitor matches each command's start with its end: they arrive on
// different goroutines, keyed by connection and request ID.
type monitor struct {
	cfg     config
	mu      sync.Mutex
	calls   map[key]*xray.Segment // commands started and not finished
	missing atomic.Bool

	poolOn atomic.Bool
	pool   map[string]*poolState // by server address, guarded by mu
}

// poolState is what the pool monitor knows of one server's pool.
type poolState struct {
	out   int64         // connections checked out
	wait  time.Duration // the last check-out's wait
	fresh bool          // wait not yet given to a command
}

// monitors finds a command monitor's state for NewPoolMonitor.
var monitors sync.Map // *event.CommandMonitor → *monitor

type key struct {
	conn string
	id   int64
}

// maxPending bounds the commands waiting for their end, should a driver
// never report some (a plain map with a mutex: no boxing of the key).
const maxPending = 100_000

// NewMonitor returns a command monitor that traces every command.
func NewMonitor(opts ...Option) *event.CommandMonitor {
	m := &monitor{cfg: config{maxShape: 1000}, calls: map[key]*xray.Segment{}, pool: map[string]*poolState{}}
	for _, o := range opts {
		if o != nil {
			o.apply(&m.cfg)
		}
	}
	cm := &event.CommandMonitor{Started: m.started, Succeeded: m.succeeded, Failed: m.failed}
	monitors.Store(cm, m)
	return cm
}

// NewPoolMonitor returns a pool monitor that adds to the subsegments of
// cmd (a monitor from NewMonitor) the connections checked out of the
// server's pool (metadata mongodb.pool_checked_out) and how long the
// command waited for its connection (mongodb.pool_wait_ms). The driver's
// events do not say which command a check-out was for: the wait goes to
// the next command on that server, which is exact when calls do not
// overlap and, when they do, still gives each wait to one command.
func NewPoolMonitor(cmd *event.CommandMonitor) *event.PoolMonitor {
	v, ok := monitors.Load(cmd)
	if !ok {
		return &event.PoolMonitor{Event: func(*event.PoolEvent) {}}
	}
	m := v.(*monitor)
	m.poolOn.Store(true)
	return &event.PoolMonitor{Event: m.poolEvent}
}

func (m *monitor) poolEvent(e *event.PoolEvent) {
	switch e.Type {
	case event.ConnectionCheckedOut, event.ConnectionCheckedIn:
	default:
		return
	}
	m.mu.Lock()
	st := m.pool[e.Address]
	if st == nil {
		st = &poolState{}
		m.pool[e.Address] = st
	}
	if e.Type == event.ConnectionCheckedOut {
		st.out++
		st.wait, st.fresh = e.Duration, true
	} else if st.out > 0 {
		st.out--
	}
	m.mu.Unlock()
}

// Client returns client options with the command and pool monitors set.
func Client(opts ...Option) *options.ClientOptions {
	cm := NewMonitor(opts...)
	return options.Client().SetMonitor(cm).SetPoolMonitor(NewPoolMonitor(cm))
}

// sensitive commands are never recorded (the driver also redacts them).
var sensitive = map[string]bool{
	"authenticate": true, "saslStart": true, "saslContinue": true, "getnonce": true,
	"createUser": true, "updateUser": true, "copydbgetnonce": true, "copydbsaslstart": true,
	"copydb": true, "hello": true, "isMaster": true, "ismaster": true, "endSessions": true,
}

func (m *monitor) started(ctx context.Context, e *event.CommandStartedEvent) {
	if sensitive[e.CommandName] {
		return
	}
	rec := m.cfg.recorder()
	parent := rec.ParentSegment(ctx)
	if parent == nil {
		if !m.missing.Load() && m.missing.CompareAndSwap(false, true) {
			// Once per monitor: after that the cost is a context lookup.
			rec.ContextMissing("mongodb " + e.CommandName)
		}
		return
	}
	_, seg := parent.BeginSubsegment(ctx, e.DatabaseName+"@"+hostPort(e.ConnectionID))
	if seg == nil {
		return
	}
	seg.SetNamespace("remote")
	seg.AddMetadataString("mongodb", "command", e.CommandName)
	seg.AddMetadataString("mongodb", "database", e.DatabaseName)
	seg.AddMetadataInt("mongodb", "request_id", e.RequestID)
	if e.ServerConnectionID != nil {
		seg.AddMetadataInt("mongodb", "server_connection_id", *e.ServerConnectionID)
	}
	coll, hasColl := collection(e.Command, e.CommandName)
	if hasColl {
		seg.AddMetadataString("mongodb", "collection", coll)
	}
	if m.cfg.annotations {
		seg.AddAnnotation("mongodb_command_name", e.CommandName)
		seg.AddAnnotation("mongodb_database_name", e.DatabaseName)
		if hasColl {
			seg.AddAnnotation("mongodb_collection_name", coll)
		}
	}
	m.shapes(seg, e.Command, e.CommandName)
	if m.poolOn.Load() {
		m.mu.Lock()
		st := m.pool[hostPort(e.ConnectionID)]
		var out int64
		var wait time.Duration
		var fresh bool
		if st != nil {
			out, wait, fresh = st.out, st.wait, st.fresh
			st.fresh = false
		}
		m.mu.Unlock()
		seg.AddMetadataInt("mongodb", "pool_checked_out", out)
		if fresh {
			seg.AddMetadataToNamespace("mongodb", "pool_wait_ms", float64(wait.Microseconds())/1000)
		}
	}
	if m.cfg.redact != nil {
		seg.AddMetadataToNamespace("mongodb", "command_document", m.cfg.redact(withoutSessionFields(e.Command)))
	}
	m.mu.Lock()
	if len(m.calls) < maxPending {
		m.calls[key{e.ConnectionID, e.RequestID}] = seg
	}
	m.mu.Unlock()
}

func (m *monitor) finish(e *event.CommandFinishedEvent) *xray.Segment {
	k := key{e.ConnectionID, e.RequestID}
	m.mu.Lock()
	seg := m.calls[k]
	delete(m.calls, k)
	m.mu.Unlock()
	return seg
}

func (m *monitor) succeeded(_ context.Context, e *event.CommandSucceededEvent) {
	seg := m.finish(&e.CommandFinishedEvent)
	if seg == nil {
		return
	}
	seg.AddMetadataInt("mongodb", "reply_bytes", int64(len(e.Reply)))
	// Write results: documents inserted, matched, modified, deleted.
	if n, ok := intField(e.Reply, "n"); ok {
		switch e.CommandName {
		case "insert":
			seg.AddMetadataInt("mongodb", "inserted", n)
		case "update":
			seg.AddMetadataInt("mongodb", "matched", n)
		case "delete":
			seg.AddMetadataInt("mongodb", "deleted", n)
		case "count":
			seg.AddMetadataInt("mongodb", "count", n)
		}
	}
	if n, ok := intField(e.Reply, "nModified"); ok {
		seg.AddMetadataInt("mongodb", "modified", n)
	}
	// A write can succeed as a command and still fail per document.
	if we, ok := writeError(e.Reply); ok {
		markError(seg, we.code, we)
	}
	seg.Close(nil)
}

func (m *monitor) failed(_ context.Context, e *event.CommandFailedEvent) {
	seg := m.finish(&e.CommandFinishedEvent)
	if seg == nil {
		return
	}
	markError(seg, errorCode(e.Failure), e.Failure)
	seg.Close(nil)
}

// Error codes that mean the server or the network failed.
var faultCodes = map[int]bool{
	6: true, 7: true, 89: true, 91: true, 189: true, 262: true, 9001: true, 10107: true,
	11600: true, 11602: true, 13435: true, 13436: true, 50: true,
}

// markError sets error for refused commands (duplicate key 11000,
// validation 121 and other server refusals) and fault for network errors,
// timeouts and "not writable primary"-style server states.
func markError(seg *xray.Segment, code int, err error) {
	var ne net.Error
	switch {
	case errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded), faultCodes[code], code == 0:
		seg.AddFaultFlag()
	default:
		seg.AddErrorFlag()
	}
	seg.AddCause(&mongoError{msg: scrub(err.Error(), code), typ: reflect.TypeOf(err).String()}, true)
}

// mongoError is the recorded exception: the message without the values the
// server quotes (duplicate keys), and the code.
type mongoError struct{ msg, typ string }

func (e *mongoError) Error() string     { return e.msg }
func (e *mongoError) ErrorType() string { return e.typ }

func scrub(msg string, code int) string {
	if i := strings.Index(msg, "dup key:"); i >= 0 {
		msg = msg[:i] + "dup key: { ? }"
	}
	var b strings.Builder
	quote := byte(0)
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
			b.WriteString("?" + string(c))
		case quote != 0:
		case c == '"' || c == '\'':
			quote = c
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	if code != 0 && !strings.Contains(out, strconv.Itoa(code)) {
		out += " (code " + strconv.Itoa(code) + ")"
	}
	return out
}

// errorCode reads the server's code from the driver's error, by the Code
// field (the driver's error types are internal).
func errorCode(err error) int {
	for e := err; e != nil; e = errors.Unwrap(e) {
		v := reflect.ValueOf(e)
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				break
			}
			v = v.Elem()
		}
		if v.Kind() == reflect.Struct {
			if f := v.FieldByName("Code"); f.IsValid() && f.CanInt() && f.Int() != 0 {
				return int(f.Int())
			}
		}
	}
	return 0
}

type replyError struct {
	code int
	msg  string
}

func (e replyError) Error() string { return e.msg }

// writeError reads the first writeErrors entry of a reply.
func writeError(reply bson.Raw) (replyError, bool) {
	v, err := reply.LookupErr("writeErrors")
	if err != nil {
		return replyError{}, false
	}
	arr, ok := v.ArrayOK()
	if !ok {
		return replyError{}, false
	}
	vals, err := arr.Values()
	if err != nil || len(vals) == 0 {
		return replyError{}, false
	}
	doc, ok := vals[0].DocumentOK()
	if !ok {
		return replyError{}, false
	}
	code, _ := intField(doc, "code")
	msg, _ := doc.Lookup("errmsg").StringValueOK()
	return replyError{code: int(code), msg: msg}, true
}

func intField(doc bson.Raw, name string) (int64, bool) {
	v, err := doc.LookupErr(name)
	if err != nil {
		return 0, false
	}
	switch v.Type {
	case bson.TypeInt32:
		return int64(v.Int32()), true
	case bson.TypeInt64:
		return v.Int64(), true
	case bson.TypeDouble:
		return int64(v.Double()), true
	}
	return 0, false
}

// hostPort reads "host:port" from the driver's connection ID
// ("host:port[-n]").
func hostPort(connID string) string {
	if i := strings.LastIndexByte(connID, '['); i > 0 {
		return connID[:i]
	}
	return connID
}

// collection is the value of the command's first element for commands on
// a collection.
func collection(cmd bson.Raw, name string) (string, bool) {
	switch name {
	case "find", "insert", "update", "delete", "aggregate", "count", "distinct", "findAndModify",
		"createIndexes", "dropIndexes", "drop", "listIndexes":
	default:
		return "", false
	}
	v, err := cmd.LookupErr(name)
	if err != nil {
		return "", false
	}
	return v.StringValueOK()
}

// shapes records the query shapes of a command by field.
func (m *monitor) shapes(seg *xray.Segment, cmd bson.Raw, name string) {
	add := func(field string, v bson.RawValue) {
		if sh := shape(v, m.cfg.maxShape); sh != "" {
			seg.AddMetadataString("mongodb", field, sh)
		}
	}
	switch name {
	case "find":
		for _, f := range [...]string{"filter", "projection", "sort"} {
			if v, err := cmd.LookupErr(f); err == nil {
				add(f, v)
			}
		}
	case "count", "distinct":
		if v, err := cmd.LookupErr("query"); err == nil {
			add("filter", v)
		}
	case "findAndModify":
		for _, f := range [...]string{"query", "sort", "update"} {
			if v, err := cmd.LookupErr(f); err == nil {
				add(f, v)
			}
		}
	case "update":
		if v, ok := firstOf(cmd, "updates", "q"); ok {
			add("filter", v)
		}
		if v, ok := firstOf(cmd, "updates", "u"); ok {
			add("update", v)
		}
	case "delete":
		if v, ok := firstOf(cmd, "deletes", "q"); ok {
			add("filter", v)
		}
	case "aggregate":
		if v, err := cmd.LookupErr("pipeline"); err == nil {
			add("pipeline", v)
		}
	case "createIndexes":
		if v, ok := firstOf(cmd, "indexes", "key"); ok {
			add("index", v)
		}
	}
}

// firstOf returns field of the first document of the array arrayField.
func firstOf(cmd bson.Raw, arrayField, field string) (bson.RawValue, bool) {
	v, err := cmd.LookupErr(arrayField, "0", field)
	return v, err == nil
}

// shape writes v with keys and operators kept and every value replaced by
// "?", as JSON, cut to max bytes.
func shape(v bson.RawValue, max int) string {
	var b strings.Builder
	b.Grow(64)
	writeShape(&b, v, 0)
	s := b.String()
	if max > 0 && len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

func writeShape(b *strings.Builder, v bson.RawValue, depth int) {
	if depth > 20 {
		b.WriteString(`"?"`)
		return
	}
	switch v.Type {
	case bson.TypeEmbeddedDocument:
		doc := v.Document()
		elems, err := doc.Elements()
		if err != nil {
			b.WriteString(`"?"`)
			return
		}
		b.WriteByte('{')
		for i, e := range elems {
			if i > 0 {
				b.WriteString(", ")
			}
			writeKey(b, e.Key())
			b.WriteString(": ")
			writeShape(b, e.Value(), depth+1)
		}
		b.WriteByte('}')
	case bson.TypeArray:
		vals, err := v.Array().Values()
		if err != nil {
			b.WriteString(`"?"`)
			return
		}
		// Arrays of documents ($and, $or, pipelines) keep their shape;
		// arrays of values ($in lists) are one "?".
		if len(vals) == 0 || vals[0].Type != bson.TypeEmbeddedDocument {
			b.WriteString(`"?"`)
			return
		}
		b.WriteByte('[')
		for i, e := range vals {
			if i > 0 {
				b.WriteString(", ")
			}
			writeShape(b, e, depth+1)
		}
		b.WriteByte(']')
	default:
		b.WriteString(`"?"`)
	}
}

// writeKey writes a document key as a JSON string; keys rarely need
// escaping, so the common case copies it as it is.
func writeKey(b *strings.Builder, k string) {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			b.WriteString(strconv.Quote(k))
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(k)
	b.WriteByte('"')
}

// withoutSessionFields is the command without lsid, $clusterTime, $db and
// signature, which are never recorded, even by a redaction function.
func withoutSessionFields(cmd bson.Raw) bson.Raw {
	var d bson.D
	if err := bson.Unmarshal(cmd, &d); err != nil {
		return nil
	}
	kept := d[:0]
	for _, e := range d {
		switch e.Key {
		case "lsid", "$clusterTime", "$db", "signature":
		default:
			kept = append(kept, e)
		}
	}
	raw, err := bson.Marshal(kept)
	if err != nil {
		return nil
	}
	return raw
}
