// Package awsv2 is aws-xray-sdk-go's instrumentation of the AWS SDK for Go
// v2 on OpenXRay: each call a subsegment in namespace "aws", recorded by
// package github.com/openxray/xray/contrib/xrayaws.
package awsv2

import (
	"github.com/aws/smithy-go/middleware"
	"github.com/openxray/xray/contrib/xrayaws"
)

// Keys and header of the request IDs recorded in the aws block.
const (
	RequestIDKey                 string = "request_id"
	ExtendedRequestIDKey         string = "id_2"
	S3ExtendedRequestIDHeaderKey string = "x-amz-id-2"
)

// AWSV2Instrumentor adds the tracing middlewares to apiOptions, typically
// &cfg.APIOptions of an aws.Config.
func AWSV2Instrumentor(apiOptions *[]func(*middleware.Stack) error) {
	xrayaws.AppendMiddlewares(apiOptions)
}
