// Command fields is a fixture that reads and writes segment fields, locks
// the segment, uses a renamed import and a dot import: what a prefix swap
// alone cannot move, and `xray migrate` can.
package main

import (
	"context"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/aws/aws-xray-sdk-go/v2/header"
	"github.com/aws/aws-xray-sdk-go/v2/strategy/sampling"
	. "github.com/aws/aws-xray-sdk-go/v2/xray"
	awsxray "github.com/aws/aws-xray-sdk-go/v2/xray"
)

const rules = `{"version": 2, "default": {"fixed_target": 0, "rate": 1.0}}`

func main() {
	s, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(rules))
	if err != nil {
		log.Fatal(err)
	}
	if err := awsxray.Configure(awsxray.Config{DaemonAddr: os.Getenv("FIXTURE_DAEMON"), SamplingStrategy: s}); err != nil {
		log.Fatal(err)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := header.FromString(r.Header.Get("X-Amzn-Trace-Id"))
		ctx, seg := awsxray.NewSegmentFromHeader(r.Context(), "orders", r, h)
		seg.Lock()
		seg.User = "alice"
		seg.Unlock()
		if !seg.Sampled || seg.TraceID != h.TraceID || seg.ParentID != h.ParentID {
			log.Fatalf("upstream not continued: %s %s", seg.TraceID, seg.ParentID)
		}
		_, sub := BeginSubsegment(ctx, "lookup")
		sub.Namespace = "remote"
		sub.Error = true
		if sub.Name != "lookup" {
			log.Fatalf("subsegment name %q", sub.Name)
		}
		sub.Close(nil)
		seg.Close(nil)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	ctx, root := BeginSegment(context.Background(), "gateway")
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/orders", nil)
	req.Header.Set("X-Amzn-Trace-Id", root.DownstreamHeader().String())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	if root.Fault {
		log.Fatal("fault")
	}
	root.Close(nil)
}
