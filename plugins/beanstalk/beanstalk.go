// Package beanstalk is the recorder plugin for services on AWS Elastic
// Beanstalk: it reads the environment file the platform writes
// (/var/elasticbeanstalk/xray/environment.conf) when the recorder is made,
// and every segment then carries aws.elastic_beanstalk {environment_name,
// version_label, deployment_id} and the origin
// AWS::ElasticBeanstalk::Environment. Without the file it records nothing.
//
//	xray.Configure(xray.Config{Plugins: []xray.Plugin{beanstalk.New()}})
package beanstalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"github.com/openxray/xray"
)

// DefaultPath is where Elastic Beanstalk writes the environment file.
const DefaultPath = "/var/elasticbeanstalk/xray/environment.conf"

// Origin is the segments' origin on Elastic Beanstalk.
const Origin = "AWS::ElasticBeanstalk::Environment"

// Option configures the plugin.
type Option func(*plugin)

// WithPath sets the environment file's path.
func WithPath(path string) Option { return func(p *plugin) { p.path = path } }

type plugin struct{ path string }

// New returns the Elastic Beanstalk plugin.
func New(opts ...Option) xray.Plugin {
	p := &plugin{path: DefaultPath}
	for _, o := range opts {
		o(p)
	}
	return p
}

func (p *plugin) String() string { return "elastic_beanstalk" }

// Detect reads the environment file.
func (p *plugin) Detect(ctx context.Context) (*xray.Environment, error) {
	b, err := os.ReadFile(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // not on Elastic Beanstalk
	}
	if err != nil {
		return nil, fmt.Errorf("beanstalk: %w", err)
	}
	var doc struct {
		DeploymentID    json.RawMessage `json:"deployment_id"`
		VersionLabel    string          `json:"version_label"`
		EnvironmentName string          `json:"environment_name"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("beanstalk: %s: %w", p.path, err)
	}
	return &xray.Environment{Origin: Origin, Key: "elastic_beanstalk", Fields: map[string]any{
		"environment_name": doc.EnvironmentName, "version_label": doc.VersionLabel,
		"deployment_id": deploymentID(doc.DeploymentID),
	}}, nil
}

// deploymentID reads the deployment ID, a number in X-Ray's schema,
// from a JSON number or a string of digits.
func deploymentID(raw json.RawMessage) any {
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return json.Number(s)
		}
	}
	return nil
}
