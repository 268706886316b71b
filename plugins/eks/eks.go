// Package eks is the recorder plugin for services in Amazon EKS pods: when
// the recorder is made it reads the cluster's name from the cluster-info
// config map (namespace amazon-cloudwatch, as the CloudWatch agent sets it
// up) through the Kubernetes API with the pod's service-account token,
// and every segment then carries aws.eks {cluster_name, pod, container_id}
// and the origin AWS::EKS::Container. Without a service-account token it
// records nothing.
//
//	xray.Configure(xray.Config{Plugins: []xray.Plugin{eks.New()}})
package eks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/openxray/xray"
)

// Defaults of the plugin, as Kubernetes mounts them in a pod.
const (
	DefaultAPIServer = "https://kubernetes.default.svc"
	DefaultTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	DefaultCAPath    = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
	DefaultCgroup    = "/proc/self/cgroup"
)

// Origin is the segments' origin in EKS.
const Origin = "AWS::EKS::Container"

// Option configures the plugin.
type Option func(*plugin)

// WithAPIServer sets the Kubernetes API's base URL.
func WithAPIServer(url string) Option {
	return func(p *plugin) { p.api = strings.TrimSuffix(url, "/") }
}

// WithTokenPath sets the service-account token's path.
func WithTokenPath(path string) Option { return func(p *plugin) { p.tokenPath = path } }

// WithCAPath sets the path of the certificate authority that signed the
// API server's certificate.
func WithCAPath(path string) Option { return func(p *plugin) { p.caPath = path } }

// WithCgroupPath sets the file the container ID is read from.
func WithCgroupPath(path string) Option { return func(p *plugin) { p.cgroupPath = path } }

type plugin struct {
	api, tokenPath, caPath, cgroupPath string
}

// New returns the EKS plugin.
func New(opts ...Option) xray.Plugin {
	p := &plugin{api: DefaultAPIServer, tokenPath: DefaultTokenPath, caPath: DefaultCAPath, cgroupPath: DefaultCgroup}
	for _, o := range opts {
		o(p)
	}
	return p
}

func (p *plugin) String() string { return "eks" }

// Detect reads the cluster name, the pod's name and the container ID.
func (p *plugin) Detect(ctx context.Context) (*xray.Environment, error) {
	token, err := os.ReadFile(p.tokenPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // not in a Kubernetes pod
	}
	if err != nil {
		return nil, fmt.Errorf("eks: %w", err)
	}
	client, err := p.client()
	if err != nil {
		return nil, err
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		p.api+"/api/v1/namespaces/amazon-cloudwatch/configmaps/cluster-info", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("eks: cluster-info: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("eks: cluster-info: %s", resp.Status)
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&cm); err != nil {
		return nil, fmt.Errorf("eks: cluster-info: %w", err)
	}
	hostname, _ := os.Hostname()
	return &xray.Environment{Origin: Origin, Key: "eks", Fields: map[string]any{
		"cluster_name": cm.Data["cluster.name"], "pod": hostname, "container_id": p.containerID(),
	}}, nil
}

func (p *plugin) client() (*http.Client, error) {
	ca, err := os.ReadFile(p.caPath)
	if err != nil {
		return nil, fmt.Errorf("eks: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("eks: no certificate in %s", p.caPath)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}

var containerIDPattern = regexp.MustCompile(`[0-9a-f]{64}`)

// containerID finds the 64-hex-digit container ID in the cgroup file.
func (p *plugin) containerID() string {
	b, err := os.ReadFile(p.cgroupPath)
	if err != nil {
		return ""
	}
	ids := containerIDPattern.FindAll(b, -1)
	if len(ids) == 0 {
		return ""
	}
	return string(ids[len(ids)-1])
}
