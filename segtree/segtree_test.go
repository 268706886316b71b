package segtree_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/openxray/xray/segtree"
)

func docs(t *testing.T, raws ...string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range raws {
		var m map[string]any
		if err := json.Unmarshal([]byte(r), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestLink(t *testing.T) {
	segs, orphans := segtree.Link(docs(t,
		`{"id":"c","type":"subsegment","parent_id":"b","name":"deep"}`,
		`{"id":"a","name":"api","in_progress":true}`,
		`{"id":"a","name":"api","subsegments":[{"id":"b","name":"db"}]}`,
		`{"id":"x","type":"subsegment","parent_id":"gone","name":"lost"}`,
		`{"id":"a","name":"api","in_progress":true}`,
	))
	if len(segs) != 1 || len(orphans) != 1 || orphans[0]["name"] != "lost" {
		t.Fatalf("segments %v, orphans %v", segs, orphans)
	}
	b := segs[0]["subsegments"].([]any)[0].(map[string]any)
	if subs, _ := b["subsegments"].([]any); len(subs) != 1 || subs[0].(map[string]any)["name"] != "deep" {
		t.Errorf("deep not under db: %v", b)
	}
	if segs[0]["in_progress"] == true {
		t.Error("an in-progress version won over the complete one")
	}
}

// Documents that name each other as parents are not linked into a cycle:
// both stay at the top as orphans.
func TestLinkCycle(t *testing.T) {
	segs, orphans := segtree.Link(docs(t,
		`{"id":"p","type":"subsegment","parent_id":"q2","subsegments":[{"id":"p2"}]}`,
		`{"id":"q","type":"subsegment","parent_id":"p2","subsegments":[{"id":"q2"}]}`,
		`{"id":"r","type":"subsegment","parent_id":"r"}`,
	))
	if len(segs) != 0 || len(orphans) != 2 {
		t.Fatalf("segments %d, orphans %d", len(segs), len(orphans))
	}
	if _, err := json.Marshal(orphans); err != nil {
		t.Fatalf("a cycle was made: %v", err)
	}
}

func ExampleLink() {
	var segment, sub map[string]any
	json.Unmarshal([]byte(`{"id":"53995c3f42cd8ad8","name":"api"}`), &segment)
	json.Unmarshal([]byte(`{"id":"6c1b9ad2a4fd3c11","type":"subsegment","parent_id":"53995c3f42cd8ad8","name":"db"}`), &sub)
	segs, orphans := segtree.Link([]map[string]any{sub, segment})
	fmt.Println(len(segs), len(orphans), segs[0]["subsegments"].([]any)[0].(map[string]any)["name"])
	// Output: 1 0 db
}
