// Package xraysigv4 signs the OTLP exporter's requests with AWS Signature
// Version 4, so that the recorder sends spans straight to X-Ray's OTLP
// endpoint (https://xray.<region>.amazonaws.com/v1/traces), without a
// daemon, agent or collector. X-Ray takes OTLP over HTTP with protobuf
// only, signed for the service "xray"; the account needs Transaction
// Search enabled and the credentials the xray:PutSpans permission.
//
//	otlp, err := xraysigv4.OTLPConfig(ctx)
//	if err != nil { ... }
//	err = xray.Configure(xray.Config{Exporters: []string{xray.ExporterOTLP}, OTLP: otlp})
//
// Credentials and region come from the AWS SDK's standard chain
// (environment, shared config and credentials files, SSO, web identity,
// ECS and EC2 roles), as for any AWS SDK client.
package xraysigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/openxray/xray"
)

// Service is the signing name of X-Ray's OTLP endpoint.
const Service = "xray"

// Endpoint returns X-Ray's OTLP traces URL in region.
func Endpoint(region string) string {
	return "https://xray." + region + ".amazonaws.com/v1/traces"
}

// OTLPConfig loads the AWS configuration with the standard chain
// (config.LoadDefaultConfig with optFns) and returns an OTLPConfig that
// sends to X-Ray's OTLP endpoint in its region, signed. It fails when no
// region is configured.
func OTLPConfig(ctx context.Context, optFns ...func(*config.LoadOptions) error) (xray.OTLPConfig, error) {
	cfg, err := config.LoadDefaultConfig(ctx, optFns...)
	if err != nil {
		return xray.OTLPConfig{}, fmt.Errorf("xraysigv4: loading the AWS configuration: %w", err)
	}
	return FromAWSConfig(cfg)
}

// FromAWSConfig returns an OTLPConfig that sends to X-Ray's OTLP endpoint
// in cfg's region, signed with cfg's credentials.
func FromAWSConfig(cfg aws.Config) (xray.OTLPConfig, error) {
	if cfg.Region == "" {
		return xray.OTLPConfig{}, errors.New("xraysigv4: no AWS region (set AWS_REGION)")
	}
	if cfg.Credentials == nil {
		return xray.OTLPConfig{}, errors.New("xraysigv4: no AWS credentials provider")
	}
	return xray.OTLPConfig{
		Endpoint:    Endpoint(cfg.Region),
		Compression: "gzip",
		Client:      &http.Client{Transport: NewTransport(nil, cfg.Credentials, cfg.Region)},
	}, nil
}

// Transport signs each request with SigV4 for X-Ray before base (nil
// means http.DefaultTransport) sends it.
type Transport struct {
	base        http.RoundTripper
	credentials aws.CredentialsProvider
	region      string
	signer      *v4.Signer
	now         func() time.Time
}

// NewTransport returns a Transport signing with credentials for region.
func NewTransport(base http.RoundTripper, credentials aws.CredentialsProvider, region string) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{base: base, credentials: credentials, region: region, signer: v4.NewSigner(), now: time.Now}
}

// RoundTrip signs a copy of req (the body is read to hash it, and given
// back) and sends it. A failure to get credentials fails the request,
// which the exporter counts and retries like a network error.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("xraysigv4: reading the body: %w", err)
		}
		body = b
	}
	sum := sha256.Sum256(body)
	r2 := req.Clone(req.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r2.ContentLength = int64(len(body))
	creds, err := t.credentials.Retrieve(req.Context())
	if err != nil {
		return nil, fmt.Errorf("xraysigv4: AWS credentials: %w", err)
	}
	if err := t.signer.SignHTTP(req.Context(), creds, r2, hex.EncodeToString(sum[:]), Service, t.region, t.now().UTC()); err != nil {
		return nil, fmt.Errorf("xraysigv4: signing: %w", err)
	}
	return t.base.RoundTrip(r2)
}
