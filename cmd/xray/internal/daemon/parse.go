// Package daemon receives segment documents the way the AWS X-Ray daemon
// does: one UDP datagram per document, after a header line.
package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxDocument is the largest document accepted, in bytes.
const MaxDocument = 64 << 10

// Reasons a datagram is refused; each is counted separately.
const (
	ReasonHeader    = "malformed_header"
	ReasonJSON      = "invalid_json"
	ReasonTooLarge  = "too_large"
	ReasonType      = "wrong_type"
	ReasonMissingID = "missing_id"
	ReasonQueueFull = "queue_full"
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
	head, body, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return Document{}, &ParseError{ReasonHeader, errors.New("no newline after the header")}
	}
	if err := checkHeader(head); err != nil {
		return Document{}, &ParseError{ReasonHeader, err}
	}
	body = bytes.TrimSpace(body)
	if len(body) > MaxDocument {
		return Document{}, &ParseError{ReasonTooLarge, fmt.Errorf("%d bytes", len(body))}
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

func checkHeader(head []byte) error {
	var h struct {
		Format  *string `json:"format"`
		Version *int    `json:"version"`
	}
	if err := json.Unmarshal(head, &h); err != nil {
		return err
	}
	if h.Format == nil || *h.Format != "json" || h.Version == nil || *h.Version != 1 {
		return fmt.Errorf("header %.80q", head)
	}
	return nil
}

func check(d *Document) error {
	switch {
	case d.ID == "" || len(d.ID) != 16:
		return &ParseError{ReasonMissingID, errors.New("id must be 16 hex digits")}
	case len(d.TraceID) < 35:
		return &ParseError{ReasonMissingID, errors.New("trace_id is missing")}
	case d.Type == "subsegment" && len(d.ParentID) != 16:
		return &ParseError{ReasonMissingID, errors.New("a subsegment sent alone needs parent_id")}
	case d.Name == "":
		return &ParseError{ReasonMissingID, errors.New("name is missing")}
	case d.StartTime <= 0:
		return &ParseError{ReasonType, errors.New("start_time is missing")}
	}
	return nil
}

// Walk calls fn for e and every subsegment under it.
func (e *Entity) Walk(fn func(*Entity)) {
	fn(e)
	for i := range e.Subsegments {
		e.Subsegments[i].Walk(fn)
	}
}
