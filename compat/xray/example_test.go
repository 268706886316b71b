package xray_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"

	"github.com/openxray/xray/compat/strategy/sampling"
	"github.com/openxray/xray/compat/xray"
)

type printer struct{}

func (printer) Emit(seg *xray.Segment) {
	var doc struct {
		Name        string `json:"name"`
		Subsegments []struct {
			Name string `json:"name"`
		} `json:"subsegments"`
	}
	b, _ := json.Marshal(seg)
	json.Unmarshal(b, &doc)
	fmt.Println("sent", doc.Name, "with", doc.Subsegments[0].Name)
}

func (printer) RefreshEmitterWithAddress(*net.UDPAddr) {}

// Code written for aws-xray-sdk-go runs as it is; only the import paths
// change. Here a context gets a configuration of its own.
func ExampleContextWithConfig() {
	s, _ := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version": 2, "default": {"fixed_target": 1, "rate": 1}}`))
	ctx, err := xray.ContextWithConfig(context.Background(), xray.Config{Emitter: printer{}, SamplingStrategy: s})
	if err != nil {
		panic(err)
	}
	ctx, seg := xray.BeginSegment(ctx, "orders")
	xray.Capture(ctx, "load", func(context.Context) error { return nil })
	seg.Close(nil)
	// Output: sent orders with load
}
