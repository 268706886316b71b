// Command calls is a fixture written the way services use aws-xray-sdk-go:
// functions, types, constants and options only, no segment fields.
package main

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/aws/aws-xray-sdk-go/v2/strategy/ctxmissing"
	"github.com/aws/aws-xray-sdk-go/v2/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/v2/xray"
	"github.com/aws/aws-xray-sdk-go/v2/xraylog"
)

const rules = `{"version": 2, "default": {"fixed_target": 0, "rate": 1.0}}`

func main() {
	s, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(rules))
	if err != nil {
		log.Fatal(err)
	}
	xray.SetLogger(xraylog.NewDefaultLogger(os.Stderr, xraylog.LogLevelWarn))
	err = xray.Configure(xray.Config{
		DaemonAddr:             os.Getenv("FIXTURE_DAEMON"),
		ServiceVersion:         "1.2.3",
		SamplingStrategy:       s,
		ContextMissingStrategy: ctxmissing.NewDefaultIgnoreErrorStrategy(),
	})
	if err != nil {
		log.Fatal(err)
	}

	backend := httptest.NewServer(xray.Handler(xray.NewFixedSegmentNamer("inventory"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		xray.AddAnnotation(r.Context(), "warehouse", "north")
		if r.URL.Path == "/missing" {
			http.Error(w, "no such item", http.StatusNotFound)
			return
		}
		io.WriteString(w, "in stock")
	})))
	defer backend.Close()
	client := xray.Client(nil)

	ctx, seg := xray.BeginSegment(context.Background(), "checkout")
	xray.AddAnnotation(ctx, "customer", "c-42")
	xray.AddMetadata(ctx, "cart", map[string]int{"items": 3})
	err = xray.Capture(ctx, "reserve", func(ctx context.Context) error {
		for _, path := range []string{"/item/7", "/missing"} {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, backend.URL+path, nil)
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	_, sub := xray.BeginSubsegment(ctx, "price")
	sub.AddAnnotation("currency", "EUR")
	sub.AddMetadataToNamespace("pricing", "rule", "spring-sale")
	sub.Close(nil)
	xray.Capture(ctx, "charge", func(ctx context.Context) error {
		return xray.AddError(ctx, errors.New("card declined"))
	})
	seg.Close(nil)
}
