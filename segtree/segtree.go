// Package segtree puts the documents of a trace back together. A segment's
// subsegments can arrive as documents of their own (streamed ahead, split
// off a segment too large for a datagram, sent from a Lambda function),
// and a segment can be sent more than once (in progress, then complete);
// Link turns the documents received, in any order, into trees.
//
// The daemon of `xray local` (which then nests called services' segments
// under their callers for the viewer) and package xraytest both use it.
package segtree

// Link puts each subsegment sent on its own (a document with type
// "subsegment") under its parent, found in any other document, at any depth,
// by appending it to the parent's "subsegments". Of several documents with
// one id, the complete one is kept over in-progress ones, otherwise the
// later. A link that would close a cycle is not made. It returns the
// segments, and the subsegments left without a parent (orphans), in the
// order they came. The documents are modified.
func Link(docs []map[string]any) (segments, orphans []map[string]any) {
	docs = Latest(docs)
	// Every entity by id, with the document that holds it.
	type place struct {
		entity map[string]any
		doc    int
	}
	byID := make(map[string]place, len(docs))
	for i, d := range docs {
		walk(d, func(m map[string]any) {
			if id, _ := m["id"].(string); id != "" {
				if _, seen := byID[id]; !seen {
					byID[id] = place{m, i}
				}
			}
		})
	}
	up := make([]int, len(docs)) // the document each one was put into
	for i := range up {
		up[i] = -1
	}
	linked := make([]bool, len(docs))
	for i, d := range docs {
		if t, _ := d["type"].(string); t != "subsegment" {
			continue
		}
		pid, _ := d["parent_id"].(string)
		p, ok := byID[pid]
		if !ok || pid == "" || reaches(up, p.doc, i) {
			continue
		}
		list, _ := p.entity["subsegments"].([]any)
		p.entity["subsegments"] = append(list, d)
		up[i], linked[i] = p.doc, true
	}
	for i, d := range docs {
		switch t, _ := d["type"].(string); {
		case t != "subsegment":
			segments = append(segments, d)
		case !linked[i]:
			orphans = append(orphans, d)
		}
	}
	return segments, orphans
}

// reaches reports whether document from is, or lies inside, document to.
func reaches(up []int, from, to int) bool {
	for k, n := from, 0; k >= 0 && n <= len(up); k, n = up[k], n+1 {
		if k == to {
			return true
		}
	}
	return false
}

// Latest keeps one document per id: the complete one over in-progress
// versions, the later one otherwise. Documents without an id are kept.
func Latest(docs []map[string]any) []map[string]any {
	keep := make(map[string]int, len(docs))
	for i, d := range docs {
		id, _ := d["id"].(string)
		if id == "" {
			continue
		}
		j, seen := keep[id]
		if !seen || !inProgress(d) || inProgress(docs[j]) {
			keep[id] = i
		}
	}
	out := make([]map[string]any, 0, len(docs))
	for i, d := range docs {
		id, _ := d["id"].(string)
		if id == "" || keep[id] == i {
			out = append(out, d)
		}
	}
	return out
}

func inProgress(d map[string]any) bool {
	b, _ := d["in_progress"].(bool)
	return b
}

// walk calls fn for m and every subsegment under it. Depth is bounded, so
// a document that reached its subsegments through a cycle cannot loop.
func walk(m map[string]any, fn func(map[string]any)) {
	var visit func(map[string]any, int)
	visit = func(m map[string]any, depth int) {
		if depth > maxDepth {
			return
		}
		fn(m)
		subs, _ := m["subsegments"].([]any)
		for _, s := range subs {
			if sm, ok := s.(map[string]any); ok {
				visit(sm, depth+1)
			}
		}
	}
	visit(m, 0)
}

// maxDepth bounds the nesting walked, beyond what the daemon accepts.
const maxDepth = 512
