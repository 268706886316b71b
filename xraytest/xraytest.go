// Package xraytest helps test code instrumented with OpenXRay.
//
// NewRecorder gives a recorder that samples everything and keeps what it
// would send in memory, parsed. Daemon listens on a real loopback UDP port
// and decodes datagrams exactly as the X-Ray daemon does, for tests that
// check the wire.
package xraytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/segtree"
)

// Document is a decoded segment or subsegment document.
type Document map[string]any

// Name returns the document's name field.
func (d Document) Name() string { s, _ := d["name"].(string); return s }

// ID returns the document's id field.
func (d Document) ID() string { s, _ := d["id"].(string); return s }

// String returns a string field, or "".
func (d Document) String(key string) string { s, _ := d[key].(string); return s }

// Bool returns a boolean field, or false.
func (d Document) Bool(key string) bool { b, _ := d[key].(bool); return b }

// Object returns an object field (such as "sql", "aws", "annotations"), or nil.
func (d Document) Object(key string) map[string]any { m, _ := d[key].(map[string]any); return m }

// Subsegments returns the embedded subsegments.
func (d Document) Subsegments() []Document {
	list, _ := d["subsegments"].([]any)
	out := make([]Document, 0, len(list))
	for _, v := range list {
		if m, ok := v.(map[string]any); ok {
			out = append(out, Document(m))
		}
	}
	return out
}

// Walk calls fn for d and every subsegment under it, depth first; parent is
// nil for d.
func (d Document) Walk(fn func(doc, parent Document)) {
	var walk func(doc, parent Document)
	walk = func(doc, parent Document) {
		fn(doc, parent)
		for _, s := range doc.Subsegments() {
			walk(s, doc)
		}
	}
	walk(d, nil)
}

// Find returns the first entity named name under d (d included), or nil.
func (d Document) Find(name string) Document {
	var found Document
	d.Walk(func(doc, _ Document) {
		if found == nil && doc.Name() == name {
			found = doc
		}
	})
	return found
}

// FindAll returns every entity named name under d.
func (d Document) FindAll(name string) []Document {
	var out []Document
	d.Walk(func(doc, _ Document) {
		if doc.Name() == name {
			out = append(out, doc)
		}
	})
	return out
}

// Decode parses one document. Numbers are kept as json.Number-free float64,
// as encoding/json decodes into any.
func Decode(doc []byte) (Document, error) {
	var d Document
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("xraytest: data after the document")
	}
	return d, nil
}

// Assemble rebuilds traces from documents sent apart: each independent
// subsegment (type "subsegment") is put under its parent, found by
// parent_id among all documents, so a trace reads as one tree. A complete
// document replaces an in-progress version of itself, as in X-Ray. It
// returns the segments (documents without type) and the subsegments whose
// parent was not found. The documents are modified.
func Assemble(docs []Document) (segments, orphans []Document) {
	ms := make([]map[string]any, len(docs))
	for i, d := range docs {
		ms[i] = d
	}
	segs, orphs := segtree.Link(ms)
	for _, m := range segs {
		segments = append(segments, m)
	}
	for _, m := range orphs {
		orphans = append(orphans, m)
	}
	return segments, orphans
}

// Emitter keeps emitted documents in memory. It is safe for concurrent use.
type Emitter struct {
	mu   sync.Mutex
	docs [][]byte
}

var _ xray.Emitter = (*Emitter)(nil)

// NewEmitter returns an empty in-memory emitter.
func NewEmitter() *Emitter { return &Emitter{} }

// Emit keeps doc.
func (e *Emitter) Emit(doc []byte) {
	e.mu.Lock()
	e.docs = append(e.docs, doc)
	e.mu.Unlock()
}

// Flush does nothing: Emit is synchronous.
func (e *Emitter) Flush(context.Context) error { return nil }

// Shutdown does nothing: the documents stay readable.
func (e *Emitter) Shutdown(context.Context) error { return nil }

// Raw returns the documents as emitted.
func (e *Emitter) Raw() [][]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][]byte(nil), e.docs...)
}

// Documents returns the documents emitted so far, decoded. A document that
// is not valid JSON panics: the recorder must never emit one.
func (e *Emitter) Documents() []Document {
	raw := e.Raw()
	out := make([]Document, 0, len(raw))
	for _, b := range raw {
		d, err := Decode(b)
		if err != nil {
			panic(fmt.Sprintf("xraytest: invalid document %q: %v", b, err))
		}
		out = append(out, d)
	}
	return out
}

// Reset forgets the documents emitted so far.
func (e *Emitter) Reset() {
	e.mu.Lock()
	e.docs = nil
	e.mu.Unlock()
}

// NewRecorder returns a recorder that samples every segment and keeps its
// documents in the returned Emitter. Options in cfg are kept, except
// Emitter and, when nil, SamplingStrategy.
func NewRecorder(cfg ...xray.Config) (*xray.Recorder, *Emitter) {
	var c xray.Config
	if len(cfg) > 0 {
		c = cfg[0]
	}
	e := NewEmitter()
	c.Emitter = e
	if c.SamplingStrategy == nil {
		c.SamplingStrategy = sampling.Always
	}
	r, err := xray.New(c)
	if err != nil {
		panic("xraytest: " + err.Error())
	}
	return r, e
}
