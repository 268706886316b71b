// Package header parses and formats the X-Ray trace header, X-Amzn-Trace-Id.
//
// A header is a list of key=value pairs separated by semicolons:
//
//	X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1
//
// Root is the trace ID, Parent the ID of the calling segment or subsegment and
// Sampled the caller's sampling decision: 1 (sampled), 0 (not sampled) or ?
// (the caller asks the receiver to decide). Every other pair, such as Lineage,
// is kept in order and written back unchanged. Self, which load balancers add,
// is dropped.
//
// Parsing never fails: a malformed part is ignored, so a malformed header
// behaves as an absent one.
package header

import (
	"strings"
)

// Name is the HTTP header that carries the trace context.
const Name = "X-Amzn-Trace-Id"

// SamplingDecision is the Sampled part of a trace header, in its wire form.
type SamplingDecision string

// Sampling decisions. Their values are the header's own spelling, so
// string(decision) can be written to a header as it is.
const (
	// Sampled means the caller recorded the request: so must the receiver.
	Sampled SamplingDecision = "Sampled=1"
	// NotSampled means the caller did not record the request.
	NotSampled SamplingDecision = "Sampled=0"
	// Requested means the caller asks the receiver to make the decision.
	Requested SamplingDecision = "Sampled=?"
	// Unknown means the header carried no decision.
	Unknown SamplingDecision = ""
)

// KeyValue is one pair of a header that is neither Root, Parent, Sampled nor Self.
type KeyValue struct {
	Key   string
	Value string
}

// Header is a parsed trace header. The zero value is an empty header.
type Header struct {
	// TraceID is the Root part: 1-<8 hex digits>-<24 hex digits>, or empty.
	TraceID string
	// ParentID is the Parent part: 16 hex digits, or empty.
	ParentID string
	// SamplingDecision is the Sampled part.
	SamplingDecision SamplingDecision
	// AdditionalData holds the other pairs (Lineage, vendor keys) in the order
	// they arrived.
	AdditionalData []KeyValue
	// TraceState is the W3C tracestate header that came with a traceparent
	// (vendors' own entries), passed on unchanged; String ignores it.
	TraceState string
}

// FromString parses a trace header. It never returns nil and never fails:
// pairs that are malformed, a Root that is not a valid trace ID and a Parent
// that is not a valid entity ID are ignored. Keys are matched without regard
// to case, and spaces around pairs, keys and values are allowed.
func FromString(s string) *Header {
	h := &Header{}
	for len(s) > 0 {
		var part string
		if i := strings.IndexByte(s, ';'); i >= 0 {
			part, s = s[:i], s[i+1:]
		} else {
			part, s = s, ""
		}
		eq := strings.IndexByte(part, '=')
		if eq < 0 {
			continue
		}
		key := strings.TrimSpace(part[:eq])
		value := strings.TrimSpace(part[eq+1:])
		switch {
		case key == "":
			continue
		case strings.EqualFold(key, "Root"):
			if ValidTraceID(value) {
				h.TraceID = value
			}
		case strings.EqualFold(key, "Parent"):
			if ValidEntityID(value) {
				h.ParentID = value
			}
		case strings.EqualFold(key, "Sampled"):
			switch value {
			case "1":
				h.SamplingDecision = Sampled
			case "0":
				h.SamplingDecision = NotSampled
			case "?":
				h.SamplingDecision = Requested
			}
		case strings.EqualFold(key, "Self"):
			// Added by Elastic Load Balancing for its own use; not forwarded.
		default:
			if value == "" || strings.ContainsAny(key, " \t,") {
				continue
			}
			h.AdditionalData = append(h.AdditionalData, KeyValue{Key: key, Value: value})
		}
	}
	return h
}

// String formats the header for the X-Amzn-Trace-Id HTTP header:
// Root, Parent and Sampled first, then the additional pairs in order.
func (h *Header) String() string {
	if h == nil {
		return ""
	}
	var b strings.Builder
	b.Grow(len("Root=;Parent=;Sampled=1") + len(h.TraceID) + len(h.ParentID) + 32*len(h.AdditionalData))
	sep := func() {
		if b.Len() > 0 {
			b.WriteByte(';')
		}
	}
	if h.TraceID != "" {
		b.WriteString("Root=")
		b.WriteString(h.TraceID)
	}
	if h.ParentID != "" {
		sep()
		b.WriteString("Parent=")
		b.WriteString(h.ParentID)
	}
	if h.SamplingDecision != Unknown {
		sep()
		b.WriteString(string(h.SamplingDecision))
	}
	for _, kv := range h.AdditionalData {
		sep()
		b.WriteString(kv.Key)
		b.WriteByte('=')
		b.WriteString(kv.Value)
	}
	return b.String()
}

// Get returns the value of an additional pair, matching the key without
// regard to case, and whether it was present.
func (h *Header) Get(key string) (string, bool) {
	if h == nil {
		return "", false
	}
	for _, kv := range h.AdditionalData {
		if strings.EqualFold(kv.Key, key) {
			return kv.Value, true
		}
	}
	return "", false
}

// ValidTraceID reports whether s is an X-Ray trace ID:
// version 1, 8 hex digits of epoch seconds, 24 hex digits of random.
func ValidTraceID(s string) bool {
	if len(s) != 35 || s[0] != '1' || s[1] != '-' || s[10] != '-' {
		return false
	}
	return isHex(s[2:10]) && isHex(s[11:])
}

// ValidEntityID reports whether s is a segment or subsegment ID: 16 hex digits.
func ValidEntityID(s string) bool {
	return len(s) == 16 && isHex(s)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
