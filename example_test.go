package xray_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/openxray/xray"
	"github.com/openxray/xray/header"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
)

func Example() {
	// In a program: xray.Configure(xray.Config{ServiceVersion: "1.0.0"}),
	// then xray.BeginSegment. Here the documents stay in memory.
	r, docs := xraytest.NewRecorder()

	ctx, seg := r.BeginSegment(context.Background(), "checkout")
	xray.AddAnnotation(ctx, "customer_tier", "gold")
	err := xray.Capture(ctx, "charge-card", func(ctx context.Context) error {
		xray.AddMetadata(ctx, "amount_cents", 1299)
		return nil
	})
	seg.Close(err)

	doc := docs.Documents()[0]
	fmt.Println(doc.Name(), doc.Object("annotations")["customer_tier"])
	for _, sub := range doc.Subsegments() {
		fmt.Println(" ", sub.Name(), sub.Object("metadata")["default"])
	}
	// Output:
	// checkout gold
	//   charge-card map[amount_cents:1299]
}

func ExampleConfigure() {
	docs := xraytest.NewEmitter() // leave Emitter nil to send to the daemon
	err := xray.Configure(xray.Config{
		ServiceVersion:   "1.4.2",
		SamplingStrategy: sampling.Always,
		Emitter:          docs,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, seg := xray.BeginSegment(context.Background(), "orders")
	seg.Close(nil)
	fmt.Println(docs.Documents()[0].Object("service")["version"])
	// Output: 1.4.2
}

func ExampleBeginSubsegment() {
	r, docs := xraytest.NewRecorder()
	ctx, seg := r.BeginSegment(context.Background(), "api")

	// A nil subsegment (no segment in ctx, or not sampled) is safe to use.
	_, sub := xray.BeginSubsegment(ctx, "render")
	sub.AddAnnotation("template", "invoice")
	sub.Close(nil)

	seg.Close(nil)
	fmt.Println(docs.Documents()[0].Subsegments()[0].Name())
	// Output: render
}

func ExampleCapture() {
	r, docs := xraytest.NewRecorder()
	ctx, seg := r.BeginSegment(context.Background(), "worker")
	err := xray.Capture(ctx, "load-config", func(ctx context.Context) error {
		return errors.New("config not found")
	})
	seg.Close(nil)

	sub := docs.Documents()[0].Subsegments()[0]
	fmt.Println(err, sub.Bool("fault"))
	// Output: config not found true
}

func ExampleWithTraceHeader() {
	r, _ := xraytest.NewRecorder()
	incoming := header.FromString("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	ctx, seg := r.BeginSegment(context.Background(), "inventory", xray.WithTraceHeader(incoming))
	defer seg.Close(nil)
	fmt.Println(xray.TraceID(ctx), xray.IsSampled(ctx))
	// Output: 1-5759e988-bd862e3fe1be46a994272793 true
}

func ExampleSegment_DownstreamHeader() {
	r, _ := xraytest.NewRecorder()
	ctx, seg := r.BeginSegment(context.Background(), "frontend",
		xray.WithTraceHeader(header.FromString("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")))
	defer seg.Close(nil)
	_, call := xray.BeginSubsegment(ctx, "inventory")
	defer call.Close(nil)
	h := call.DownstreamHeader() // send as X-Amzn-Trace-Id
	fmt.Println(h.TraceID, h.ParentID == call.ID(), h.SamplingDecision)
	// Output: 1-5759e988-bd862e3fe1be46a994272793 true Sampled=1
}

func ExampleSegment_AddError() {
	r, docs := xraytest.NewRecorder()
	_, seg := r.BeginSegment(context.Background(), "job")
	seg.AddError(fmt.Errorf("saving report: %w", errors.New("disk full")))
	seg.Close(nil)
	ex := docs.Documents()[0].Object("cause")["exceptions"].([]any)
	fmt.Println(len(ex), ex[0].(map[string]any)["message"])
	// Output: 2 saving report: disk full
}

func ExampleFlush() {
	// Short-lived programs (Lambda handlers, CLIs) flush before returning
	// so that the last segments reach the daemon.
	ctx, cancel := context.WithTimeout(context.Background(), 1e9)
	defer cancel()
	if err := xray.Flush(ctx); err != nil {
		fmt.Println("flush:", err)
	}
	fmt.Println("flushed")
	// Output: flushed
}

// A daemon started with a larger receive buffer (say, the CloudWatch agent
// on a host whose net.core.rmem_default was raised to 4 MiB) takes bigger
// bursts; SetPacing lets the emitter send them.
func ExampleUDPEmitter_SetPacing() {
	e := xray.NewUDPEmitter("127.0.0.1:2000", nil)
	e.SetPacing(64<<20, 1<<20) // 64 MB/s after a 1 MiB burst
	r, err := xray.New(xray.Config{Emitter: e})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close(context.Background())
	fmt.Println("paced emitter ready")
	// Output: paced emitter ready
}
