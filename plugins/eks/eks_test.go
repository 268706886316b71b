package eks_test

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/openxray/xray"
	"github.com/openxray/xray/plugins/eks"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
)

const containerID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestClusterInfo(t *testing.T) {
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sa-token" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/api/v1/namespaces/amazon-cloudwatch/configmaps/cluster-info" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cluster-info"},"data":{"cluster.name":"orders-cluster","logs.region":"us-east-1"}}`))
	}))
	defer api.Close()
	dir := t.TempDir()
	token, ca, cgroup := filepath.Join(dir, "token"), filepath.Join(dir, "ca.crt"), filepath.Join(dir, "cgroup")
	os.WriteFile(token, []byte("sa-token\n"), 0o600)
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw}), 0o600)
	os.WriteFile(cgroup, []byte("0::/kubepods.slice/kubepods-burstable.slice/cri-containerd-"+containerID+".scope\n"), 0o600)

	d := xraytest.NewDaemon(t)
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always,
		Plugins: []xray.Plugin{eks.New(eks.WithAPIServer(api.URL), eks.WithTokenPath(token), eks.WithCAPath(ca), eks.WithCgroupPath(cgroup))}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	doc := d.Trace(t, r, "in-eks", func(ctx context.Context) {})
	host, _ := os.Hostname()
	got, _ := doc.Object("aws")["eks"].(map[string]any)
	if doc.String("origin") != eks.Origin || got["cluster_name"] != "orders-cluster" || got["pod"] != host || got["container_id"] != containerID {
		t.Errorf("origin %q, aws.eks %v", doc.String("origin"), got)
	}
}

func TestNotInPod(t *testing.T) {
	env, err := eks.New(eks.WithTokenPath(filepath.Join(t.TempDir(), "none"))).Detect(context.Background())
	if env != nil || err != nil {
		t.Errorf("outside a pod: %v %v", env, err)
	}
}
