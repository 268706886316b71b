// Package ecs is the recorder plugin for services on Amazon ECS (EC2 or
// Fargate): it reads the task metadata endpoint v4
// (ECS_CONTAINER_METADATA_URI_V4) when the recorder is made, and every
// segment then carries aws.ecs {container, container_id, container_arn,
// task_arn, cluster_arn, launch_type} and the origin AWS::ECS::Container
// or AWS::ECS::Fargate. Outside ECS it records nothing.
//
//	xray.Configure(xray.Config{Plugins: []xray.Plugin{ecs.New()}})
package ecs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/openxray/xray"
)

// Origins of the segments on ECS.
const (
	Origin        = "AWS::ECS::Container"
	FargateOrigin = "AWS::ECS::Fargate"
)

// Option configures the plugin.
type Option func(*plugin)

// WithEndpoint sets the task metadata endpoint (by default the value of
// ECS_CONTAINER_METADATA_URI_V4).
func WithEndpoint(url string) Option {
	return func(p *plugin) { p.endpoint = strings.TrimSuffix(url, "/") }
}

// WithHTTPClient sets the HTTP client.
func WithHTTPClient(c *http.Client) Option { return func(p *plugin) { p.client = c } }

type plugin struct {
	endpoint string
	client   *http.Client
}

// New returns the ECS plugin.
func New(opts ...Option) xray.Plugin {
	p := &plugin{endpoint: strings.TrimSuffix(os.Getenv("ECS_CONTAINER_METADATA_URI_V4"), "/"), client: http.DefaultClient}
	for _, o := range opts {
		o(p)
	}
	return p
}

func (p *plugin) String() string { return "ecs" }

type container struct {
	DockerID     string `json:"DockerId"`
	Name         string `json:"Name"`
	ContainerARN string `json:"ContainerARN"`
}

type task struct {
	Cluster    string `json:"Cluster"`
	TaskARN    string `json:"TaskARN"`
	LaunchType string `json:"LaunchType"`
}

// Detect reads the container's and the task's metadata.
func (p *plugin) Detect(ctx context.Context) (*xray.Environment, error) {
	if p.endpoint == "" {
		return nil, nil // not on ECS
	}
	var c container
	if err := p.get(ctx, "", &c); err != nil {
		return nil, fmt.Errorf("ecs: container metadata: %w", err)
	}
	var t task
	if err := p.get(ctx, "/task", &t); err != nil {
		return nil, fmt.Errorf("ecs: task metadata: %w", err)
	}
	hostname, _ := os.Hostname()
	origin := Origin
	if strings.EqualFold(t.LaunchType, "FARGATE") {
		origin = FargateOrigin
	}
	return &xray.Environment{Origin: origin, Key: "ecs", Fields: map[string]any{
		"container": hostname, "container_id": c.DockerID, "container_arn": c.ContainerARN,
		"task_arn": t.TaskARN, "cluster_arn": t.Cluster, "launch_type": strings.ToLower(t.LaunchType),
	}}, nil
}

func (p *plugin) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.endpoint+path, nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}
