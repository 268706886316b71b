// Package ec2 is the recorder plugin for services on Amazon EC2: it reads
// the instance identity document from the instance metadata service
// (IMDSv2) when the recorder is made, and every segment then carries
// aws.ec2 {instance_id, availability_zone, instance_type, ami_id} and the
// origin AWS::EC2::Instance.
//
//	xray.Configure(xray.Config{Plugins: []xray.Plugin{ec2.New()}})
package ec2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/openxray/xray"
)

// DefaultEndpoint is the instance metadata service's address.
const DefaultEndpoint = "http://169.254.169.254"

// Origin is the segments' origin on EC2.
const Origin = "AWS::EC2::Instance"

// Option configures the plugin.
type Option func(*plugin)

// WithEndpoint sets the metadata service's base URL (for tests, or IMDS
// on IPv6: http://[fd00:ec2::254]).
func WithEndpoint(url string) Option {
	return func(p *plugin) { p.endpoint = strings.TrimSuffix(url, "/") }
}

// WithIMDSv1Fallback allows reading the document without a session token
// when the token request fails (instances that still allow IMDSv1).
func WithIMDSv1Fallback() Option { return func(p *plugin) { p.v1 = true } }

// WithHTTPClient sets the HTTP client (by default one without a timeout of
// its own: the recorder's plugin timeout applies).
func WithHTTPClient(c *http.Client) Option { return func(p *plugin) { p.client = c } }

type plugin struct {
	endpoint string
	v1       bool
	client   *http.Client
}

// New returns the EC2 plugin.
func New(opts ...Option) xray.Plugin {
	p := &plugin{endpoint: DefaultEndpoint, client: http.DefaultClient}
	for _, o := range opts {
		o(p)
	}
	return p
}

func (p *plugin) String() string { return "ec2" }

type identity struct {
	InstanceID       string `json:"instanceId"`
	AvailabilityZone string `json:"availabilityZone"`
	InstanceType     string `json:"instanceType"`
	ImageID          string `json:"imageId"`
}

// Detect asks IMDSv2 for a session token, then for the identity document.
func (p *plugin) Detect(ctx context.Context) (*xray.Environment, error) {
	token, err := p.token(ctx)
	if err != nil && (!p.v1 || ctx.Err() != nil) {
		return nil, fmt.Errorf("ec2: IMDSv2 token: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.endpoint+"/latest/dynamic/instance-identity/document", nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("X-Aws-Ec2-Metadata-Token", token)
	}
	var id identity
	if err := get(p.client, req, &id); err != nil {
		return nil, fmt.Errorf("ec2: identity document: %w", err)
	}
	if id.InstanceID == "" {
		return nil, errors.New("ec2: identity document without an instance ID")
	}
	return &xray.Environment{Origin: Origin, Key: "ec2", Fields: map[string]any{
		"instance_id": id.InstanceID, "availability_zone": id.AvailabilityZone,
		"instance_type": id.InstanceType, "ami_id": id.ImageID,
	}}, nil
}

func (p *plugin) token(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, p.endpoint+"/latest/api/token", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "60")
	resp, err := p.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s", resp.Status)
	}
	return strings.TrimSpace(string(b)), nil
}

// get sends req and decodes its JSON answer (at most 1 MB) into out.
func get(c *http.Client, req *http.Request, out any) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}
