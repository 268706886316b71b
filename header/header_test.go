package header

import (
	"reflect"
	"strings"
	"testing"
)

const (
	root   = "1-5759e988-bd862e3fe1be46a994272793"
	parent = "53995c3f42cd8ad8"
)

func TestFromString(t *testing.T) {
	tests := []struct {
		in   string
		want Header
	}{
		{"", Header{}},
		{"Root=" + root, Header{TraceID: root}},
		{"Root=" + root + ";Parent=" + parent + ";Sampled=1",
			Header{TraceID: root, ParentID: parent, SamplingDecision: Sampled}},
		{"root=" + root + "; parent=" + parent + " ; sampled=0",
			Header{TraceID: root, ParentID: parent, SamplingDecision: NotSampled}},
		{"Root = " + root + ";Sampled=?",
			Header{TraceID: root, SamplingDecision: Requested}},
		{"Self=1-67891234-12456789abcdef012345678;Root=" + root + ";Lineage=a87bd80c:1|68fd508a:5;Foo=bar",
			Header{TraceID: root, AdditionalData: []KeyValue{{"Lineage", "a87bd80c:1|68fd508a:5"}, {"Foo", "bar"}}}},
		{"Root=1-bad;Parent=xyz;Sampled=yes", Header{}},
		{";;;=;Root;==;", Header{}},
		{"Root=" + root + ";Sampled=1;", Header{TraceID: root, SamplingDecision: Sampled}},
	}
	for _, tt := range tests {
		got := FromString(tt.in)
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("FromString(%q) = %+v, want %+v", tt.in, *got, tt.want)
		}
	}
}

func TestStringRoundTrip(t *testing.T) {
	in := "Root=" + root + ";Parent=" + parent + ";Sampled=1;Lineage=a87bd80c:1|68fd508a:5;Foo=bar"
	if got := FromString(in).String(); got != in {
		t.Fatalf("String() = %q, want %q", got, in)
	}
	h := &Header{TraceID: root, SamplingDecision: Requested}
	if got, want := h.String(), "Root="+root+";Sampled=?"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if (*Header)(nil).String() != "" {
		t.Fatal("nil header must format as empty")
	}
	if v, ok := FromString(in).Get("lineage"); !ok || v != "a87bd80c:1|68fd508a:5" {
		t.Fatalf("Get(lineage) = %q, %v", v, ok)
	}
}

func FuzzFromString(f *testing.F) {
	f.Add("Root=" + root + ";Parent=" + parent + ";Sampled=1")
	f.Add("Root=" + root + ";Lineage=a:1;Self=x")
	f.Add(";=;")
	f.Add(strings.Repeat("a=b;", 50))
	f.Fuzz(func(t *testing.T, s string) {
		h := FromString(s)
		if h.TraceID != "" && !ValidTraceID(h.TraceID) {
			t.Fatalf("invalid trace id %q accepted", h.TraceID)
		}
		if h.ParentID != "" && !ValidEntityID(h.ParentID) {
			t.Fatalf("invalid parent id %q accepted", h.ParentID)
		}
		// Formatting and parsing again is stable.
		again := FromString(h.String())
		if !reflect.DeepEqual(h, again) {
			t.Fatalf("round trip of %q: %+v != %+v", s, h, again)
		}
	})
}

func BenchmarkFromString(b *testing.B) {
	s := "Root=" + root + ";Parent=" + parent + ";Sampled=1"
	b.ReportAllocs()
	for b.Loop() {
		FromString(s)
	}
}
