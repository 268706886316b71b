package header_test

import (
	"fmt"

	"github.com/openxray/xray/header"
)

func ExampleFromString() {
	h := header.FromString("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1")
	fmt.Println(h.TraceID)
	fmt.Println(h.ParentID)
	fmt.Println(h.SamplingDecision == header.Sampled)
	fmt.Println(h.String())
	// Output:
	// 1-5759e988-bd862e3fe1be46a994272793
	// 53995c3f42cd8ad8
	// true
	// Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1
}
