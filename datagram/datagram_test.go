package datagram_test

import (
	"fmt"
	"testing"

	"github.com/openxray/xray/datagram"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in, doc string
		ok      bool
	}{
		{datagram.Header + `{"id":"1"}`, `{"id":"1"}`, true},
		{`{"version": 1, "format": "json"}` + "\n{}", "{}", true},
		{`{"format":"json","version":2}` + "\n{}", "", false},
		{`{"format":"json"}` + "\n{}", "", false},
		{`{"format":"json","version":1}{}`, "", false},
		{"not json\n{}", "", false},
	} {
		doc, err := datagram.Split([]byte(tc.in))
		if (err == nil) != tc.ok || string(doc) != tc.doc {
			t.Errorf("Split(%q) = %q, %v", tc.in, doc, err)
		}
	}
}

func ExampleSplit() {
	doc, err := datagram.Split([]byte(datagram.Header + `{"name":"api"}`))
	fmt.Println(string(doc), err)
	// Output: {"name":"api"} <nil>
}
