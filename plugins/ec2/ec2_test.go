package ec2_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/plugins/ec2"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
)

// imds answers like the instance metadata service; v1 says whether it
// still answers without a token.
func imds(t *testing.T, v1 bool) (*httptest.Server, *atomic.Int32) {
	var tokens atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			if r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") == "" {
				http.Error(w, "missing TTL", http.StatusBadRequest)
				return
			}
			if v1 {
				http.Error(w, "forbidden", http.StatusForbidden) // a v1-only proxy
				return
			}
			tokens.Add(1)
			w.Write([]byte("TOKEN123"))
		case r.Method == http.MethodGet && r.URL.Path == "/latest/dynamic/instance-identity/document":
			if !v1 && r.Header.Get("X-Aws-Ec2-Metadata-Token") != "TOKEN123" {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			w.Write([]byte(`{"accountId":"123456789012","architecture":"x86_64","availabilityZone":"us-east-1d",
				"imageId":"ami-0abcdef1234567890","instanceId":"i-1234567890abcdef0","instanceType":"t3.micro",
				"privateIp":"10.0.0.1","region":"us-east-1","version":"2017-09-30"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &tokens
}

func TestIMDSv2(t *testing.T) {
	srv, tokens := imds(t, false)
	d := xraytest.NewDaemon(t)
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always,
		Plugins: []xray.Plugin{ec2.New(ec2.WithEndpoint(srv.URL))}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	if tokens.Load() != 1 {
		t.Errorf("%d token requests", tokens.Load())
	}
	doc := d.Trace(t, r, "on-ec2", func(ctx context.Context) {})
	if doc.String("origin") != ec2.Origin {
		t.Errorf("origin %q", doc.String("origin"))
	}
	got, _ := doc.Object("aws")["ec2"].(map[string]any)
	want := map[string]any{"instance_id": "i-1234567890abcdef0", "availability_zone": "us-east-1d",
		"instance_type": "t3.micro", "ami_id": "ami-0abcdef1234567890"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("aws.ec2.%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestIMDSv1OnlyWhenAllowed(t *testing.T) {
	srv, _ := imds(t, true)
	env, err := ec2.New(ec2.WithEndpoint(srv.URL)).Detect(context.Background())
	if err == nil || env != nil {
		t.Errorf("IMDSv1 used without the option: %v %v", env, err)
	}
	env, err = ec2.New(ec2.WithEndpoint(srv.URL), ec2.WithIMDSv1Fallback()).Detect(context.Background())
	if err != nil || env.Fields["instance_id"] != "i-1234567890abcdef0" {
		t.Errorf("IMDSv1 fallback: %v %v", env, err)
	}
}

// An endpoint that never answers costs the plugin timeout at start-up, no
// more, and the recorder works without the environment.
func TestUnreachable(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer srv.Close()
	defer close(hang)
	d := xraytest.NewDaemon(t)
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always,
		Plugins: []xray.Plugin{ec2.New(ec2.WithEndpoint(srv.URL))}, PluginTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	doc := d.Trace(t, r, "nowhere", func(ctx context.Context) {})
	if doc.String("origin") != "" || doc.Object("aws")["ec2"] != nil {
		t.Errorf("environment recorded without an answer: %v", doc)
	}
}
