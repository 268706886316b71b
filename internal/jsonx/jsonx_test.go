package jsonx

import (
	"encoding/json"
	"math"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	for _, s := range []string{"", "plain", `quo"te\back`, "tab\tnl\ncr\r", "\x00\x1f", "<a&b>", "ünï©ødé", "\u2028\u2029", "bad\xffutf8"} {
		b := String(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("String(%q) = %s: %v", s, b, err)
		}
		want := s
		if !utf8.ValidString(s) {
			want = "bad\ufffdutf8"
		}
		if got != want {
			t.Errorf("String(%q) decodes to %q", s, got)
		}
	}
	if got := string(StringLimit(nil, "héllo", 2)); got != `"hé"` {
		t.Errorf("StringLimit = %s", got)
	}
}

func TestFloatAndTime(t *testing.T) {
	for _, f := range []float64{0, 1, -1.5, 1e-9, 1e300, 3.14159} {
		var got float64
		if err := json.Unmarshal(Float(nil, f), &got); err != nil || got != f {
			t.Errorf("Float(%v) = %s (%v)", f, Float(nil, f), err)
		}
	}
	if got := string(Float(nil, math.NaN())); got != "null" {
		t.Errorf("NaN = %s", got)
	}
	if got := string(Time(nil, 1_700_000_000_123_456_789)); got != "1700000000.123456" {
		t.Errorf("Time = %s", got)
	}
	if got := string(Time(nil, 5_000_001_000)); got != "5.000001" {
		t.Errorf("Time = %s", got)
	}
}

func FuzzString(f *testing.F) {
	f.Add("hello \"world\"\n")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		var got string
		if err := json.Unmarshal(String(nil, s), &got); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if utf8.ValidString(s) && got != s {
			t.Fatalf("%q decoded to %q", s, got)
		}
	})
}
