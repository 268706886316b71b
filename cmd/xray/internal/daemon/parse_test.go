package daemon

import (
	"errors"
	"strings"
	"testing"
)

const hdr = "{\"format\": \"json\", \"version\": 1}\n"

func TestParse(t *testing.T) {
	good := hdr + `{"name":"svc","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1478293361.271,"end_time":1478293361.449,"annotations":{"k":"v"},"subsegments":[{"name":"db","id":"70de5b6f19ff9a0b","start_time":1478293361.3,"end_time":1478293361.4,"namespace":"remote"}]}`
	d, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "svc" || !d.IsSegment() || len(d.Subsegments) != 1 || d.Annotations["k"] != "v" {
		t.Errorf("parsed %+v", d.Entity)
	}
	tests := map[string]struct{ in, reason string }{
		"no newline":     {`{"format":"json","version":1}`, ReasonHeader},
		"bad header":     {"{\"format\":\"xml\",\"version\":1}\n{}", ReasonHeader},
		"junk header":    {"hello\n{}", ReasonHeader},
		"not json":       {hdr + "not json", ReasonJSON},
		"truncated":      {hdr + `{"name":"svc"`, ReasonJSON},
		"wrong type":     {hdr + `{"name":5,"id":"70de5b6f19ff9a0a"}`, ReasonType},
		"missing id":     {hdr + `{"name":"svc","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1}`, ReasonMissingID},
		"orphan sub":     {hdr + `{"name":"s","type":"subsegment","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1}`, ReasonMissingID},
		"no start":       {hdr + `{"name":"s","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979"}`, ReasonType},
		"too large":      {hdr + `{"name":"` + strings.Repeat("x", MaxDocument) + `"}`, ReasonTooLarge},
		"infinite times": {hdr + `{"name":"s","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1e308,"end_time":-1e308}`, ReasonType},
		"sub times":      {hdr + `{"name":"s","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1,"subsegments":[{"name":"x","id":"70de5b6f19ff9a0b","start_time":1e300}]}`, ReasonType},
		"sub id":         {hdr + `{"name":"s","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1,"subsegments":[{"name":"x","id":"zz","start_time":1}]}`, ReasonMissingID},
		"bad trace id":   {hdr + `{"name":"s","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de97%","start_time":1}`, ReasonMissingID},
		"deep":           {hdr + `{"name":"s","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1,"metadata":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`, ReasonTooDeep},
		"nested wrong":   {hdr + `{"name":"s","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1,"subsegments":[{"name":[]}]}`, ReasonType},
	}
	for name, tt := range tests {
		_, err := Parse([]byte(tt.in))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Reason != tt.reason {
			t.Errorf("%s: err = %v, want reason %s", name, err, tt.reason)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(hdr + `{"name":"svc","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1}`))
	f.Add([]byte("{\"format\":\"json\",\"version\":1}\n{\"subsegments\":[{\"subsegments\":[]}]}"))
	f.Add([]byte("\n\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse(b)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Reason == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		if len(d.ID) != 16 || d.Raw == nil {
			t.Fatalf("accepted %+v", d)
		}
	})
}
