package header

import "strings"

// W3C Trace Context (https://www.w3.org/TR/trace-context/), the propagation
// format of OpenTelemetry:
//
//	traceparent: 00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01
//	tracestate:  vendor1=value1,vendor2=value2
//
// An X-Ray trace ID and a W3C trace ID are the same 128 bits: the W3C form
// is the X-Ray form without its version and dashes, so
// 1-5759e988-bd862e3fe1be46a994272793 and 5759e988bd862e3fe1be46a994272793
// name the same trace. A W3C trace ID made by another tracer has random
// bits where X-Ray keeps the request's start time; X-Ray accepts such IDs
// in the same 1-{8}-{24} form (PutTraceSegments documents it for trace IDs
// that come from W3C-conforming tracers), so this package converts them
// the same way and a trace continued from an OpenTelemetry service keeps
// its ID end to end.

// Names of the W3C Trace Context headers, in the lower case HTTP/2 and gRPC
// metadata use (HTTP/1 header lookups ignore case).
const (
	TraceParentName = "traceparent"
	TraceStateName  = "tracestate"
)

// The same names in net/http's canonical form: http.Header's Get, Set and
// Del take them without canonicalizing (and allocating) first.
const (
	TraceParentHTTP = "Traceparent"
	TraceStateHTTP  = "Tracestate"
)

// Format is a set of trace header formats, for reading and writing.
type Format uint8

// The formats a trace context travels in.
const (
	// AmznTraceID is X-Ray's X-Amzn-Trace-Id.
	AmznTraceID Format = 1 << iota
	// TraceContext is W3C traceparent with tracestate.
	TraceContext

	// Both formats: what integrations write by default.
	AllFormats = AmznTraceID | TraceContext
)

// FromTraceParent converts a W3C traceparent (and the tracestate that came
// with it) to a Header: the trace ID in X-Ray's form, the parent span ID,
// and the sampled flag as Sampled or NotSampled. It reports false, with a
// nil Header, when traceparent is not valid: a wrong length or version,
// characters other than lower case hex, or an all-zero trace or parent ID.
// Versions above 00 are read as 00, as the specification asks.
func FromTraceParent(traceparent, tracestate string) (*Header, bool) {
	s := strings.TrimSpace(traceparent)
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return nil, false
	}
	version, trace, parent, flags := s[:2], s[3:35], s[36:52], s[53:55]
	if !isLowerHex(version) || version == "ff" || (version == "00" && len(s) != 55) ||
		(len(s) > 55 && s[55] != '-') {
		return nil, false
	}
	if !isLowerHex(trace) || !isLowerHex(parent) || !isLowerHex(flags) ||
		allZero(trace) || allZero(parent) {
		return nil, false
	}
	h := &Header{
		TraceID:          "1-" + trace[:8] + "-" + trace[8:],
		ParentID:         parent,
		SamplingDecision: NotSampled,
		TraceState:       strings.TrimSpace(tracestate),
	}
	if hexNibble(flags[1])&1 != 0 {
		h.SamplingDecision = Sampled
	}
	return h, true
}

// TraceParent formats h as a W3C traceparent, version 00: the trace ID
// without its X-Ray version and dashes, the parent, and the sampled flag
// (set for Sampled only). It returns "" when h has no valid trace ID or
// parent, which traceparent requires.
func (h *Header) TraceParent() string {
	if h == nil || !ValidTraceID(h.TraceID) || !ValidEntityID(h.ParentID) {
		return ""
	}
	return string(AppendTraceParent(make([]byte, 0, 55), h.TraceID, h.ParentID, h.SamplingDecision == Sampled))
}

// AppendTraceParent appends the traceparent for an X-Ray trace ID, a
// 16-hex-digit parent ID and a sampled flag to dst, without allocating.
// traceID and parentID must be valid (see ValidTraceID, ValidEntityID).
func AppendTraceParent(dst []byte, traceID, parentID string, sampled bool) []byte {
	dst = append(dst, "00-"...)
	dst = appendLower(dst, traceID[2:10])
	dst = appendLower(dst, traceID[11:])
	dst = append(dst, '-')
	dst = appendLower(dst, parentID)
	if sampled {
		return append(dst, "-01"...)
	}
	return append(dst, "-00"...)
}

var defaultOrder = []Format{AmznTraceID, TraceContext}

// Extract reads the trace context from a carrier's get function (such as
// http.Header.Get), trying the formats in order and returning the first
// that carries a trace ID, or nil when none is found. Both AmznTraceID and
// TraceContext are tried, X-Amzn-Trace-Id first, when order is empty. It
// asks for Name, TraceParentName and TraceStateName; a get function over
// http.Header can map the last two to TraceParentHTTP and TraceStateHTTP
// to save canonicalizing them. An
// X-Amzn-Trace-Id without a Root (such as a bare Sampled=?, a caller
// asking for the decision) is returned when no format has a trace ID.
func Extract(get func(name string) string, order ...Format) *Header {
	if len(order) == 0 {
		order = defaultOrder
	}
	var partial *Header
	for _, f := range order {
		if f&AmznTraceID != 0 {
			if v := get(Name); v != "" {
				h := FromString(v)
				if h.TraceID != "" {
					return h
				}
				partial = h
			}
		}
		if f&TraceContext != 0 {
			if v := get(TraceParentName); v != "" {
				if h, ok := FromTraceParent(v, get(TraceStateName)); ok {
					return h
				}
			}
		}
	}
	return partial
}

// Inject writes h to a carrier's set function (such as http.Header.Set) in
// the given formats: X-Amzn-Trace-Id as String formats it, traceparent as
// TraceParent formats it, and tracestate when h has one. A format h cannot
// be written in (traceparent needs a trace ID and a parent) is skipped.
func Inject(set func(name, value string), h *Header, formats Format) {
	if h == nil {
		return
	}
	if formats&AmznTraceID != 0 {
		set(Name, h.String())
	}
	if formats&TraceContext != 0 {
		if tp := h.TraceParent(); tp != "" {
			set(TraceParentName, tp)
			if h.TraceState != "" {
				set(TraceStateName, h.TraceState)
			}
		}
	}
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func allZero(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}

func hexNibble(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'F' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
