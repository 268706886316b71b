package xray_test

import (
	"context"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
)

// These tests send what a busy service sends to a receiver like the AWS
// daemon (kernel default receive buffer, one reader) while another
// process keeps a core busy, and require every datagram to arrive: no
// kernel drop at the receiver's socket, no document dropped by the
// emitter, every trace whole.

// busyCore runs a process that spins on one core until the test ends.
func busyCore(t *testing.T) {
	t.Helper()
	cmd := exec.Command("sh", "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the busy process: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
}

// serviceHeap gives the test program the live heap of a small service.
// A test binary's heap is as small as a Go program's can be, so its
// garbage collector runs every 4 MB allocated, several times during one
// burst; and the stand-in daemon, unlike the AWS daemon in its own
// process, shares that collector and the Go scheduler with the program
// under test, whose collection can hold its reader off for 10 ms. With a
// 64 MB heap, as services have, the collector does not run during a burst.
// The ballast holds no pointers, so it costs the collector nothing to mark.
func serviceHeap(t *testing.T) {
	ballast := make([]byte, 64<<20)
	t.Cleanup(func() { runtime.KeepAlive(ballast) })
}

func deliveryRecorder(t *testing.T) (*xray.Recorder, *xray.UDPEmitter, *xraytest.Daemon) {
	t.Helper()
	serviceHeap(t)
	d := xraytest.NewDaemon(t)
	e := xray.NewUDPEmitter(d.Addr(), nil)
	r, err := xray.New(xray.Config{Emitter: e, SamplingStrategy: sampling.Always})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r, e, d
}

func checkDelivery(t *testing.T, e *xray.UDPEmitter, d *xraytest.Daemon) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := d.Wait(ctx, int(e.Sent())); err != nil {
		t.Errorf("received fewer datagrams than sent: %v", err)
	}
	d.AssertNoKernelDrops(t)
	if n := e.Dropped(); n > 0 {
		t.Errorf("the emitter dropped %d documents", n)
	}
}

func TestDeliveryOfLargeTrees(t *testing.T) {
	busyCore(t)
	payload := strings.Repeat("x", 1000)
	for _, n := range []int{300, 3000} {
		r, e, d := deliveryRecorder(t)
		ctx, seg := r.BeginSegment(context.Background(), "tree")
		for range n {
			_, sub := r.BeginSubsegment(ctx, "query")
			sub.AddMetadata("payload", payload)
			sub.Close(nil)
		}
		seg.Close(nil)
		start := time.Now()
		fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := r.Flush(fctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		t.Logf("%d × 1 KB subsegments: %d datagrams sent in %v after the segment closed", n, e.Sent(), time.Since(start).Round(time.Millisecond))
		checkDelivery(t, e, d)
		doc := d.WaitTrace(t, seg.TraceID(), 10*time.Second)
		if got := len(doc.FindAll("query")); got != n {
			t.Errorf("%d subsegments arrived, want %d", got, n)
		}
	}
}

func TestDeliverySustained(t *testing.T) {
	busyCore(t)
	r, e, d := deliveryRecorder(t)
	const perSecond, seconds = 20000, 1
	start := time.Now()
	sent := 0
	for tick := range perSecond / 20 * seconds {
		// 20 segments every millisecond, as a service serving 20,000
		// requests a second sends them.
		for range 20 {
			_, seg := r.BeginSegment(context.Background(), "request")
			seg.AddAnnotation("n", sent)
			seg.Close(nil)
			sent++
		}
		if wait := time.Until(start.Add(time.Duration(tick+1) * time.Millisecond)); wait > 0 {
			time.Sleep(wait)
		}
	}
	elapsed := time.Since(start)
	fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d segments in %v (%.0f/s), all sent %v later", sent, elapsed.Round(time.Millisecond),
		float64(sent)/elapsed.Seconds(), (time.Since(start) - elapsed).Round(time.Millisecond))
	checkDelivery(t, e, d)
	if got := len(d.Datagrams()); got != sent {
		t.Errorf("%d segments arrived, want %d", got, sent)
	}
}

// A segment too large for one datagram keeps as many subsegments as fit
// in its own document, which goes first; the rest follow on their own.
func TestDeliveryOfSplitSegment(t *testing.T) {
	serviceHeap(t)
	d := xraytest.NewDaemon(t)
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always, StreamingThreshold: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	payload := strings.Repeat("y", 1000)
	ctx, seg := r.BeginSegment(context.Background(), "big")
	for range 300 {
		_, sub := r.BeginSubsegment(ctx, "child")
		sub.AddMetadata("payload", payload)
		sub.Close(nil)
	}
	seg.Close(nil)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	doc := d.WaitTrace(t, seg.TraceID(), 10*time.Second)
	if got := len(doc.FindAll("child")); got != 300 {
		t.Errorf("%d subsegments arrived, want 300", got)
	}
	dgs := d.Datagrams()
	first, err := xraytest.Decode(dgs[0].Raw) // as sent, not as assembled
	if err != nil {
		t.Fatal(err)
	}
	if first.ID() != seg.ID() {
		t.Fatalf("first datagram is %q, want the segment", first.Name())
	}
	packed := len(first.Subsegments())
	if packed < 50 || dgs[0].Size > xray.MaxDocumentSize+len(xray.DaemonHeader) {
		t.Errorf("the segment's document holds %d subsegments in %d bytes, want it filled to the datagram limit", packed, dgs[0].Size)
	}
	if want := 1 + 300 - packed; len(dgs) != want {
		t.Errorf("%d datagrams, want %d", len(dgs), want)
	}
	d.AssertNoKernelDrops(t)
}
