package xraylambda_test

import (
	"context"
	"fmt"

	"github.com/openxray/xray"
	"github.com/openxray/xray/xraylambda"
	"github.com/openxray/xray/xraytest"
)

// Begin makes the invocation's facade explicitly, here with a recorder of
// the example's own; in a Lambda function, xray.BeginSubsegment and the
// integrations find it without it.
func ExampleBegin() {
	rec, sent := xraytest.NewRecorder()
	handler := func(ctx context.Context) error {
		ctx, _ = xraylambda.Begin(ctx, xraylambda.WithRecorder(rec))
		return rec.Capture(ctx, "resize", func(ctx context.Context) error { return nil })
	}
	// aws-lambda-go passes the invocation's trace header in the context.
	ctx := context.WithValue(context.Background(), xray.LambdaTraceHeaderKey, //nolint:staticcheck
		"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	handler(ctx)
	doc := sent.Documents()[0]
	fmt.Println(doc.Name(), doc.String("parent_id"), doc.String("type"))
	// Output: resize 53995c3f42cd8ad8 subsegment
}

func ExampleIsSampled() {
	attrs := map[string]string{"AWSTraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}
	fmt.Println(xraylambda.IsSampled(attrs))
	// Output: true
}
