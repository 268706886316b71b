package xraylambda_test

import (
	"context"

	"github.com/openxray/xray"
	"github.com/openxray/xray/xraylambda"
)

func ExampleBegin() {
	handler := func(ctx context.Context) error {
		ctx, _ = xraylambda.Begin(ctx)
		// Subsegments leave as they close; Flush waits for the last ones
		// before the runtime freezes the process.
		defer xray.Flush(context.Background())
		return xray.Capture(ctx, "resize", func(ctx context.Context) error { return nil })
	}
	_ = handler // lambda.Start(handler)
}

func ExampleIsSampled() {
	attrs := map[string]string{"AWSTraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}
	if xraylambda.IsSampled(attrs) {
		// record the message's processing in detail
	}
}
