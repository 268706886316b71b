package xray_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
)

// fanOut hands each document to several emitters, as a user's emitter that
// sends to the daemon and keeps a copy would.
type fanOut []xray.Emitter

func (f fanOut) Emit(doc []byte) {
	for _, e := range f {
		e.Emit(doc)
	}
}

func (f fanOut) Flush(ctx context.Context) error {
	var err error
	for _, e := range f {
		err = errors.Join(err, e.Flush(ctx))
	}
	return err
}

func (f fanOut) Shutdown(ctx context.Context) error {
	var err error
	for _, e := range f {
		err = errors.Join(err, e.Shutdown(ctx))
	}
	return err
}

// A document handed to a fan-out emitter is never reused under it: what
// the in-memory emitter kept is, byte for byte, what the daemon received,
// although the UDP emitter recycles its buffers once they are sent.
func TestFanOutEmitterSeesNoReuse(t *testing.T) {
	t.Parallel()
	d := xraytest.NewDaemon(t)
	udp := xray.NewUDPEmitter(d.Addr(), nil)
	// This test compares bytes; the delivery tests measure how fast a
	// reader like the daemon's may be sent to. Here, under the race
	// detector and beside parallel tests, the reader runs several times
	// slower than the daemon's (CI lost 44 of 300 datagrams once), so the
	// emitter is paced for such a reader.
	udp.SetPacing(4<<20, xray.DefaultPacingBurst)
	kept := xraytest.NewEmitter()
	r, err := xray.New(xray.Config{Emitter: fanOut{udp, kept}, SamplingStrategy: sampling.Always})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		ctx, seg := r.BeginSegment(context.Background(), fmt.Sprintf("svc-%d", i))
		_, sub := seg.BeginSubsegment(ctx, fmt.Sprintf("work-%d", i))
		sub.AddAnnotation("i", i)
		sub.Close(nil)
		seg.Close(nil)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var received []string
	for _, dg := range d.Settle(t, 5*time.Second) {
		b, _ := json.Marshal(dg)
		received = append(received, string(b))
	}
	var mine []string
	for _, raw := range kept.Raw() {
		doc, err := xraytest.Decode(raw)
		if err != nil {
			t.Fatalf("a kept document was overwritten: %q", raw)
		}
		b, _ := json.Marshal(doc)
		mine = append(mine, string(b))
	}
	slices.Sort(received)
	slices.Sort(mine)
	if len(mine) != n || !slices.Equal(received, mine) {
		t.Errorf("kept %d documents, the daemon received %d; equal: %v", len(mine), len(received), slices.Equal(received, mine))
	}
}

// The zero Recorder, and a nil one, record nothing and never panic.
func TestZeroRecorder(t *testing.T) {
	t.Parallel()
	for _, r := range []*xray.Recorder{new(xray.Recorder), nil} {
		ctx, seg := r.BeginSegment(context.Background(), "x")
		if seg != nil || ctx == nil {
			t.Errorf("BeginSegment: %v", seg)
		}
		if _, sub := r.BeginSubsegment(ctx, "y"); sub != nil {
			t.Error("BeginSubsegment recorded")
		}
		ran := false
		if err := r.Capture(ctx, "z", func(context.Context) error { ran = true; return nil }); err != nil || !ran {
			t.Error("Capture did not run fn")
		}
		if _, f := r.BeginFacadeSegment(ctx, nil); f != nil {
			t.Error("facade")
		}
		r.ContextMissing("test")
		if r.ParentSegment(ctx) != nil || r.Flush(ctx) != nil || r.Close(ctx) != nil {
			t.Error("Flush/Close/ParentSegment")
		}
	}
}

// SetDefault (and Configure) shut down the default they replace: its
// emitter stops, so what is closed with it afterwards is dropped and
// counted, not queued forever.
func TestSetDefaultShutsDownReplaced(t *testing.T) {
	d := xraytest.NewDaemon(t)
	old, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always})
	if err != nil {
		t.Fatal(err)
	}
	xray.SetDefault(old)
	_, seg := xray.BeginSegment(context.Background(), "before")
	next, _ := xray.New(xray.Config{Emitter: xray.DiscardEmitter{}, SamplingStrategy: sampling.Never})
	xray.SetDefault(next)
	if xray.Default() != next {
		t.Fatal("SetDefault did not replace the default")
	}
	seg.Close(nil) // recorded by old, which is shut down
	udp := old.Emitter().(*xray.UDPEmitter)
	if udp.Dropped() != 1 {
		t.Errorf("the replaced recorder still sends: dropped %d", udp.Dropped())
	}
	if n := len(d.Settle(t, 5*time.Second)); n != 0 {
		t.Errorf("%d documents after shutdown", n)
	}
	if err := xray.Configure(xray.Config{Emitter: xray.DiscardEmitter{}}); err != nil {
		t.Fatal(err)
	}
	if _, s := next.BeginSegment(context.Background(), "after"); s != nil && s.Sampled() {
		t.Error("Never sampled")
	}
}

// With SyncSend, a document is on the wire when Close returns: no Flush.
func TestSyncSend(t *testing.T) {
	t.Parallel()
	d := xraytest.NewDaemon(t)
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always, SyncSend: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	_, seg := r.BeginSegment(context.Background(), "sync")
	seg.Close(nil)
	if n := r.Emitter().(*xray.UDPEmitter).Sent(); n != 1 {
		t.Errorf("%d documents written when Close returned, want 1", n)
	}
	docs := d.Settle(t, 5*time.Second)
	if len(docs) != 1 || docs[0].Name() != "sync" {
		t.Errorf("documents %v", docs)
	}
}
