// Package daemon receives segment documents the way the AWS X-Ray daemon
// does: one UDP datagram per document, after a header line.
package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/openxray/xray/datagram"
	"github.com/openxray/xray/header"
)

// MaxDocument is the largest document accepted, in bytes.
const MaxDocument = 64 << 10

// Reasons a datagram is refused; each is counted separately.
const (
	ReasonHeader    = "malformed_header"
	ReasonJSON      = "invalid_json"
	ReasonTooLarge  = "too_large"
	ReasonTooDeep   = "too_deep"
	ReasonType      = "wrong_type"
	ReasonMissingID = "missing_id"
	ReasonQueueFull = "queue_full"
	ReasonStopped   = "stopped"
)

// ParseError says why a datagram was refused.
type ParseError struct {
	Reason string
	Err    error
}

func (e *ParseError) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *ParseError) Unwrap() error { return e.Err }

// Entity is the part of a segment or subsegment document the daemon reads;
// the document itself is kept as it came.
type Entity struct {
	Name        string          `json:"name"`
	ID          string          `json:"id"`
	TraceID     string          `json:"trace_id"`
	ParentID    string          `json:"parent_id"`
	Type        string          `json:"type"`
	Namespace   string          `json:"namespace"`
	StartTime   float64         `json:"start_time"`
	EndTime     float64         `json:"end_time"`
	InProgress  bool            `json:"in_progress"`
	Fault       bool            `json:"fault"`
	Error       bool            `json:"error"`
	Throttle    bool            `json:"throttle"`
	HTTP        *HTTP           `json:"http"`
	Annotations map[string]any  `json:"annotations"`
	SQL         json.RawMessage `json:"sql"`
	Subsegments []Entity        `json:"subsegments"`
}

// HTTP is the http block, as far as the daemon reads it.
type HTTP struct {
	Response *struct {
		Status float64 `json:"status"`
	} `json:"response"`
}

// Document is an accepted datagram.
type Document struct {
	Entity
	// Raw is the document's JSON, as sent.
	Raw []byte
}

// IsSegment reports whether the document is a segment rather than an
// independently sent subsegment.
func (d *Document) IsSegment() bool { return d.Type != "subsegment" }

// Parse reads one datagram: {"format":"json","version":1}, a newline, and
// one document. It copies what it keeps, so the caller may reuse b.
func Parse(b []byte) (Document, error) {
	body, err := datagram.Split(b)
	if err != nil {
		return Document{}, &ParseError{ReasonHeader, err}
	}
	return ParseDocument(body)
}

// ParseDocument reads one document without the datagram's header (what
// the OTLP receiver makes of a span), with the same checks as Parse. It
// copies what it keeps.
func ParseDocument(body []byte) (Document, error) {
	body = bytes.TrimSpace(body)
	if len(body) > MaxDocument {
		return Document{}, &ParseError{ReasonTooLarge, fmt.Errorf("%d bytes", len(body))}
	}
	if depth(body, MaxDepth) > MaxDepth {
		return Document{}, &ParseError{ReasonTooDeep, fmt.Errorf("nested deeper than %d", MaxDepth)}
	}
	var d Document
	if err := json.Unmarshal(body, &d.Entity); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Document{}, &ParseError{ReasonType, err}
		}
		return Document{}, &ParseError{ReasonJSON, err}
	}
	if err := check(&d); err != nil {
		return Document{}, err
	}
	d.Raw = append([]byte(nil), body...)
	return d, nil
}

// Limits on what a document may hold; X-Ray's own fit well inside them.
const (
	// MaxDepth bounds the nesting of objects and arrays in a document.
	MaxDepth = 256
	// MaxTime is the latest time accepted (year 2286), in Unix seconds.
	MaxTime = 1e10
)

func check(d *Document) error {
	switch {
	case !isHexID(d.ID):
		return &ParseError{ReasonMissingID, errors.New("id must be 16 hex digits")}
	case !IsTraceID(d.TraceID):
		return &ParseError{ReasonMissingID, errors.New("trace_id must be 1-<8 hex>-<24 hex>")}
	case d.Type == "subsegment" && !isHexID(d.ParentID):
		return &ParseError{ReasonMissingID, errors.New("a subsegment sent alone needs parent_id")}
	case d.ParentID != "" && !isHexID(d.ParentID):
		return &ParseError{ReasonMissingID, errors.New("parent_id must be 16 hex digits")}
	case d.Name == "":
		return &ParseError{ReasonMissingID, errors.New("name is missing")}
	}
	var err error
	top := true
	d.Walk(func(e *Entity) {
		switch {
		case err != nil:
		case !top && !isHexID(e.ID):
			err = &ParseError{ReasonMissingID, errors.New("a subsegment's id must be 16 hex digits")}
		case !(e.StartTime > 0 && e.StartTime < MaxTime):
			err = &ParseError{ReasonType, errors.New("start_time must be Unix seconds")}
		case !(e.EndTime >= 0 && e.EndTime < MaxTime):
			err = &ParseError{ReasonType, errors.New("end_time must be Unix seconds")}
		}
		top = false
	})
	return err
}

func isHexID(s string) bool { return header.ValidEntityID(s) }

// IsTraceID reports whether s is an X-Ray trace ID: 1-, eight hex digits
// (the epoch time), a dash and 24 hex digits.
func IsTraceID(s string) bool { return header.ValidTraceID(s) }

// depth returns how deeply b's objects and arrays nest, stopping early past
// limit.
func depth(b []byte, limit int) int {
	d, most, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			d++
			if d > most {
				most = d
				if most > limit {
					return most
				}
			}
		case c == '}' || c == ']':
			d--
		}
	}
	return most
}

// Walk calls fn for e and every subsegment under it.
func (e *Entity) Walk(fn func(*Entity)) {
	fn(e)
	for i := range e.Subsegments {
		e.Subsegments[i].Walk(fn)
	}
}
