package beanstalk_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/openxray/xray"
	"github.com/openxray/xray/plugins/beanstalk"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
)

func TestEnvironmentFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "environment.conf")
	os.WriteFile(path, []byte(`{"deployment_id":23,"version_label":"app-v2-2026","environment_name":"orders-prod"}`), 0o600)
	d := xraytest.NewDaemon(t)
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always,
		Plugins: []xray.Plugin{beanstalk.New(beanstalk.WithPath(path))}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	doc := d.Trace(t, r, "on-beanstalk", func(ctx context.Context) {})
	got, _ := doc.Object("aws")["elastic_beanstalk"].(map[string]any)
	if doc.String("origin") != beanstalk.Origin || got["deployment_id"] != float64(23) ||
		got["version_label"] != "app-v2-2026" || got["environment_name"] != "orders-prod" {
		t.Errorf("origin %q, aws.elastic_beanstalk %v", doc.String("origin"), got)
	}
}

func TestNoFile(t *testing.T) {
	env, err := beanstalk.New(beanstalk.WithPath(filepath.Join(t.TempDir(), "none"))).Detect(context.Background())
	if env != nil || err != nil {
		t.Errorf("without the file: %v %v", env, err)
	}
	bad := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(bad, []byte("not json"), 0o600)
	if _, err := beanstalk.New(beanstalk.WithPath(bad)).Detect(context.Background()); err == nil {
		t.Error("a malformed file gives no error")
	}
}
