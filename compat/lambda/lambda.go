// Package lambda is aws-xray-sdk-go's Lambda helper package on OpenXRay.
// A Lambda function's subsegments need no setup: BeginSubsegment (and
// every integration) finds the invocation's facade by itself.
package lambda

import (
	"github.com/aws/aws-lambda-go/events"
	"github.com/openxray/xray/xraylambda"
)

// IsSampled reports whether the SQS message was sent in a sampled trace
// (its AWSTraceHeader attribute says Sampled=1).
func IsSampled(sqsMessge events.SQSMessage) bool {
	return xraylambda.IsSampled(sqsMessge.Attributes)
}
