package xraytest_test

import (
	"context"
	"fmt"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
)

// A delivery check: the trace arrives whole and the kernel dropped nothing
// at the daemon's socket.
func ExampleDaemon_KernelDrops() {
	d, err := xraytest.StartDaemon("127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	r, _ := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always})
	defer r.Close(context.Background())
	ctx, seg := r.BeginSegment(context.Background(), "burst")
	for range 200 {
		_, sub := r.BeginSubsegment(ctx, "work")
		sub.Close(nil)
	}
	seg.Close(nil)
	r.Flush(context.Background())
	drops, ok := d.KernelDrops()
	fmt.Println(drops, ok)
	// Output: 0 true
}
