package ecs_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/openxray/xray"
	"github.com/openxray/xray/plugins/ec2"
	"github.com/openxray/xray/plugins/ecs"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
)

// metadata answers like the task metadata endpoint v4.
func metadata(t *testing.T, launchType string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v4/abc":
			w.Write([]byte(`{"DockerId":"cd189a933e5849daa93386466019ab50-2495160603","Name":"curl",
				"ContainerARN":"arn:aws:ecs:us-west-2:111122223333:container/05966557-f16c-49cb-9352-24b3a0dcd0e1",
				"Image":"111122223333.dkr.ecr.us-west-2.amazonaws.com/curltest:latest"}`))
		case "/v4/abc/task":
			w.Write([]byte(`{"Cluster":"arn:aws:ecs:us-west-2:111122223333:cluster/default",
				"TaskARN":"arn:aws:ecs:us-west-2:111122223333:task/default/e9028f8d5d8e4f258373e7b93ce9a3c3",
				"Family":"curltest","Revision":"3","LaunchType":"` + launchType + `"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFargate(t *testing.T) {
	srv := metadata(t, "FARGATE")
	t.Setenv("ECS_CONTAINER_METADATA_URI_V4", srv.URL+"/v4/abc")
	d := xraytest.NewDaemon(t)
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always,
		Plugins: []xray.Plugin{ecs.New()}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	doc := d.Trace(t, r, "on-fargate", func(ctx context.Context) {})
	if doc.String("origin") != ecs.FargateOrigin {
		t.Errorf("origin %q", doc.String("origin"))
	}
	host, _ := os.Hostname()
	got, _ := doc.Object("aws")["ecs"].(map[string]any)
	want := map[string]any{
		"container":     host,
		"container_id":  "cd189a933e5849daa93386466019ab50-2495160603",
		"container_arn": "arn:aws:ecs:us-west-2:111122223333:container/05966557-f16c-49cb-9352-24b3a0dcd0e1",
		"task_arn":      "arn:aws:ecs:us-west-2:111122223333:task/default/e9028f8d5d8e4f258373e7b93ce9a3c3",
		"cluster_arn":   "arn:aws:ecs:us-west-2:111122223333:cluster/default",
		"launch_type":   "fargate",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("aws.ecs.%s = %v, want %v", k, got[k], v)
		}
	}
}

// On ECS on EC2 both plugins find something: the segment carries both
// blocks and the more specific origin, the container's.
func TestECSOnEC2(t *testing.T) {
	srv := metadata(t, "EC2")
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			w.Write([]byte("T"))
			return
		}
		w.Write([]byte(`{"instanceId":"i-0abc","availabilityZone":"us-west-2a","instanceType":"m5.large","imageId":"ami-1"}`))
	}))
	defer imds.Close()
	d := xraytest.NewDaemon(t)
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always,
		Plugins: []xray.Plugin{ec2.New(ec2.WithEndpoint(imds.URL)), ecs.New(ecs.WithEndpoint(srv.URL + "/v4/abc"))}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	doc := d.Trace(t, r, "on-ecs", func(ctx context.Context) {})
	if doc.String("origin") != ecs.Origin || doc.Object("aws")["ec2"] == nil || doc.Object("aws")["ecs"] == nil {
		t.Errorf("origin %q, aws %v", doc.String("origin"), doc.Object("aws"))
	}
}

func TestNotOnECS(t *testing.T) {
	t.Setenv("ECS_CONTAINER_METADATA_URI_V4", "")
	env, err := ecs.New().Detect(context.Background())
	if env != nil || err != nil {
		t.Errorf("outside ECS: %v %v", env, err)
	}
}
