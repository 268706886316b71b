package xraysigv4_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xraysigv4"
)

// Send spans straight to X-Ray's OTLP endpoint, signed. Programs usually
// call OTLPConfig, which reads the standard AWS credential chain and
// region.
func ExampleFromAWSConfig() {
	cfg := aws.Config{Region: "us-west-2", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	otlp, err := xraysigv4.FromAWSConfig(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := xray.New(xray.Config{Exporters: []string{xray.ExporterOTLP}, OTLP: otlp})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close(context.Background())
	fmt.Println(otlp.Endpoint)
	// Output: https://xray.us-west-2.amazonaws.com/v1/traces
}
