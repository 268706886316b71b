package xray

// Emission of a segment tree: which closed entities go in which document,
// documents split to fit a datagram, subsegments streamed ahead of a long
// segment, and the hand-over to the emitter once the tree lock is released.

// docs collects the documents produced while the tree lock is held, to be
// handed to the emitter after it is released.
type docs struct {
	n      int
	inline [2][]byte
	more   [][]byte
	spans  spanChunk // for the OTLP exporter
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
	if d.spans.n > 0 {
		r.otlp.enqueue(d.spans)
	} else if d.spans.b != nil {
		putBuffer(d.spans.b)
	}
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

// emitTree sends e with its closed subsegments: as spans to the OTLP
// exporter and as segment documents (see emitDocs), and marks them sent.
// Holds root.st.mu.
func (r *Recorder) emitTree(e *Segment, out *docs) {
	if r.otlp != nil {
		if out.spans.b == nil {
			out.spans.b = getBuffer()
			out.spans.service = e.root.st.name
		}
		var n int
		out.spans.b, n = r.appendSpans(out.spans.b, e)
		out.spans.n += n
	}
	if r.noDocs {
		r.markEmitted(e)
		return
	}
	r.emitDocs(e, out)
}

// emitDocs encodes e with its closed subsegments as one document and marks
// them sent. A document over MaxDocumentSize is split: as many closed
// subsegments as fit stay in e's document, which goes first, and the
// others follow as documents of their own (split the same way); an entity
// still too large alone is truncated. Holds root.st.mu.
func (r *Recorder) emitDocs(e *Segment, out *docs) {
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
		r.emitDocs(c, out)
	}
	r.markEmitted(e)
}

// announce sends an in-progress version of the open segment root, without
// subsegments, before the first subsegment that goes ahead of it, so that
// what points at the segment never arrives before it: X-Ray replaces the
// in-progress version with the complete one. Holds root.st.mu.
func (r *Recorder) announce(root *Segment, out *docs) {
	if root.st.announced || root.st.emitted || root.st.closed || r.noDocs {
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
