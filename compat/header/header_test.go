package header_test

import (
	"fmt"
	"testing"

	"github.com/openxray/xray/compat/header"
)

func TestRoundTrip(t *testing.T) {
	h := header.FromString("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a:1")
	if h.AdditionalData["Lineage"] != "a:1" || h.SamplingDecision != header.Sampled {
		t.Errorf("%+v", h)
	}
	if g := header.FromString(h.String()); g.TraceID != h.TraceID || g.ParentID != h.ParentID || g.AdditionalData["Lineage"] != "a:1" {
		t.Errorf("round trip %+v", g)
	}
}

func ExampleFromString() {
	h := header.FromString("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=?")
	fmt.Println(h.TraceID, h.SamplingDecision == header.Requested)
	// Output: 1-5759e988-bd862e3fe1be46a994272793 true
}
