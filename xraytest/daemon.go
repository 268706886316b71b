package xraytest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/datagram"
	"github.com/openxray/xray/header"
	"github.com/openxray/xray/sampling"
)

// Datagram is one datagram the Daemon received.
type Datagram struct {
	// Size is the datagram's length in bytes, header included.
	Size int
	// Doc is the decoded document, or nil if Err is set.
	Doc Document
	// Raw is the document's bytes, without the header.
	Raw []byte
	// Err says why the datagram is not a valid daemon message.
	Err error
}

// Daemon listens on a loopback UDP port and decodes what arrives the way
// the X-Ray daemon does: a header line {"format": "json", "version": 1},
// a newline and one JSON document. Like the AWS daemon it keeps the
// kernel's default receive buffer and reads from one goroutine, one
// datagram at a time, so what a burst loses there shows up here too: see
// KernelDrops.
type Daemon struct {
	conn *net.UDPConn

	mu        sync.Mutex
	cond      *sync.Cond
	raw       [][]byte   // as received
	datagrams []Datagram // raw[:len(datagrams)], decoded
	done      chan struct{}
}

// NewDaemon starts a Daemon on 127.0.0.1 and a free port, and stops it when
// the test ends.
func NewDaemon(tb testing.TB) *Daemon {
	tb.Helper()
	d, err := StartDaemon("127.0.0.1:0")
	if err != nil {
		tb.Fatalf("xraytest: %v", err)
	}
	tb.Cleanup(d.Close)
	return d
}

// StartDaemon starts a Daemon listening on addr.
func StartDaemon(addr string) (*Daemon, error) {
	laddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, err
	}
	d := &Daemon{conn: conn, done: make(chan struct{}), raw: make([][]byte, 0, 1<<13)}
	d.cond = sync.NewCond(&d.mu)
	go d.serve()
	return d, nil
}

// Addr returns the address to give Config.DaemonAddr.
func (d *Daemon) Addr() string { return d.conn.LocalAddr().String() }

// Close stops listening.
func (d *Daemon) Close() {
	d.conn.Close()
	<-d.done
}

// serve reads one datagram at a time and only keeps its bytes, as the
// AWS daemon's reader does; decoding waits until the test asks. Like that
// reader, which fills buffers from a pool allocated at start, it does not
// allocate per datagram: it copies into large chunks. A reader that
// allocated per datagram would be slowed by the garbage collector of the
// program under test, with which it shares a runtime, in a way the
// daemon's separate process is not.
func (d *Daemon) serve() {
	defer close(d.done)
	buf := make([]byte, 1<<16)
	chunk := make([]byte, 0, 256<<10)
	for {
		n, _, err := d.conn.ReadFromUDP(buf)
		if err != nil {
			d.mu.Lock()
			d.cond.Broadcast()
			d.mu.Unlock()
			return
		}
		if cap(chunk)-len(chunk) < n {
			// Each chunk twice the last, up to 4 MB: few allocations for
			// many datagrams, and no large one for a short test.
			chunk = make([]byte, 0, max(min(2*cap(chunk), 4<<20), n))
		}
		start := len(chunk)
		chunk = append(chunk, buf[:n]...)
		raw := chunk[start:len(chunk):len(chunk)]
		d.mu.Lock()
		d.raw = append(d.raw, raw)
		d.cond.Broadcast()
		d.mu.Unlock()
	}
}

// decodeLocked decodes the datagrams that arrived since the last call.
func (d *Daemon) decodeLocked() {
	for _, b := range d.raw[len(d.datagrams):] {
		d.datagrams = append(d.datagrams, Parse(b))
	}
}

// Parse decodes one datagram of the daemon protocol.
func Parse(b []byte) Datagram {
	dg := Datagram{Size: len(b)}
	body, err := datagram.Split(b)
	if err != nil {
		dg.Err = err
		return dg
	}
	dg.Raw = append([]byte(nil), body...)
	dg.Doc, dg.Err = Decode(body)
	return dg
}

// Datagrams returns what has arrived so far.
func (d *Daemon) Datagrams() []Datagram {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.decodeLocked()
	return append([]Datagram(nil), d.datagrams...)
}

// Documents returns the documents that have arrived so far. It panics on
// an invalid datagram: the recorder must never send one.
func (d *Daemon) Documents() []Document {
	dgs := d.Datagrams()
	out := make([]Document, 0, len(dgs))
	for _, dg := range dgs {
		if dg.Err != nil {
			panic(fmt.Sprintf("xraytest: invalid datagram (%d bytes): %v", dg.Size, dg.Err))
		}
		out = append(out, dg.Doc)
	}
	return out
}

// Wait waits until at least n datagrams have arrived or ctx is done, and
// returns the datagrams received.
func (d *Daemon) Wait(ctx context.Context, n int) ([]Datagram, error) {
	stop := context.AfterFunc(ctx, func() {
		d.mu.Lock()
		d.cond.Broadcast()
		d.mu.Unlock()
	})
	defer stop()
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.raw) < n {
		if ctx.Err() != nil {
			d.decodeLocked()
			return append([]Datagram(nil), d.datagrams...), fmt.Errorf("xraytest: %d datagrams after waiting, want %d: %w", len(d.raw), n, ctx.Err())
		}
		select {
		case <-d.done:
			d.decodeLocked()
			return append([]Datagram(nil), d.datagrams...), errors.New("xraytest: daemon closed")
		default:
		}
		d.cond.Wait()
	}
	d.decodeLocked()
	return append([]Datagram(nil), d.datagrams...), nil
}

// WaitDocuments waits up to timeout for n documents and returns them,
// failing the test if they do not come or one is invalid.
func (d *Daemon) WaitDocuments(tb testing.TB, n int, timeout time.Duration) []Document {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	dgs, err := d.Wait(ctx, n)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]Document, 0, len(dgs))
	for _, dg := range dgs {
		if dg.Err != nil {
			tb.Fatalf("invalid datagram (%d bytes): %v", dg.Size, dg.Err)
		}
		out = append(out, dg.Doc)
	}
	return out
}

// Reset forgets what has arrived.
func (d *Daemon) Reset() {
	d.mu.Lock()
	d.raw, d.datagrams = nil, nil
	d.mu.Unlock()
}

// WaitTrace waits until the documents of the trace traceID have arrived and
// assemble into one segment with no orphan (subsegments sent on their own
// put back under their parents), checks each against the segment schema
// and that the kernel dropped no datagram at the Daemon's socket, and
// returns the assembled segment. It fails the test after timeout.
func (d *Daemon) WaitTrace(tb testing.TB, traceID string, timeout time.Duration) Document {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	seen := -1
	for {
		// A trace can look whole before its last pieces are read (the
		// segment goes first): it counts as arrived once nothing waits in
		// the socket and nothing new came since the last look.
		dgs, settled := d.look(&seen)
		var docs []Document
		for _, dg := range dgs {
			if dg.Err != nil {
				tb.Fatalf("invalid datagram (%d bytes): %v", dg.Size, dg.Err)
			}
			if dg.Doc.String("trace_id") == traceID {
				docs = append(docs, dg.Doc)
			}
		}
		for i, doc := range docs {
			docs[i] = clone(doc) // Assemble modifies; the next look starts afresh
		}
		segs, orphans := Assemble(docs)
		if settled && len(segs) == 1 && len(orphans) == 0 {
			for _, doc := range docs {
				if err := Validate(doc); err != nil {
					tb.Errorf("document does not match the segment schema: %v", err)
				}
			}
			d.AssertNoKernelDrops(tb)
			return segs[0]
		}
		if time.Now().After(deadline) {
			drops, _ := d.KernelDrops()
			tb.Fatalf("trace %s did not arrive whole: %d segments, %d orphans; the kernel dropped %d datagrams at the daemon's socket", traceID, len(segs), len(orphans), drops)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Settle waits until the senders are done: nothing waits in the Daemon's
// socket and no datagram has arrived since the previous look (looks are 20
// ms apart). It is for senders that have finished, such as a process that
// exited; it checks that the kernel dropped nothing and returns every
// document received, decoded. It fails the test on an invalid datagram or
// after timeout.
func (d *Daemon) Settle(tb testing.TB, timeout time.Duration) []Document {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	seen := -1
	for {
		if dgs, settled := d.look(&seen); settled {
			out := make([]Document, 0, len(dgs))
			for _, dg := range dgs {
				if dg.Err != nil {
					tb.Fatalf("invalid datagram (%d bytes): %v", dg.Size, dg.Err)
				}
				out = append(out, dg.Doc)
			}
			d.AssertNoKernelDrops(tb)
			return out
		}
		if time.Now().After(deadline) {
			tb.Fatalf("xraytest: datagrams still arriving after %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitResponseTrace waits for the trace that an HTTP response names in its
// X-Amzn-Trace-Id header (Root=...) and returns it, as WaitTrace does. It
// fails the test when the response names none.
func (d *Daemon) WaitResponseTrace(tb testing.TB, resp *http.Response, timeout time.Duration) Document {
	tb.Helper()
	h := header.FromString(resp.Header.Get(header.Name))
	if h == nil || !header.ValidTraceID(h.TraceID) {
		tb.Fatalf("the response names no trace: %s %q", header.Name, resp.Header.Get(header.Name))
	}
	return d.WaitTrace(tb, h.TraceID, timeout)
}

// NewDaemonRecorder starts a Daemon and returns a recorder that samples
// every segment and sends to it; both stop when the test ends.
func NewDaemonRecorder(tb testing.TB) (*xray.Recorder, *Daemon) {
	tb.Helper()
	d := NewDaemon(tb)
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close(context.Background()) })
	return r, d
}

// Trace runs fn in a new segment of r named name, sends it, and returns the
// trace as the daemon received it, assembled (see WaitTrace).
func (d *Daemon) Trace(tb testing.TB, r *xray.Recorder, name string, fn func(ctx context.Context)) Document {
	tb.Helper()
	ctx, seg := r.BeginSegment(context.Background(), name)
	fn(ctx)
	seg.Close(nil)
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Flush(fctx); err != nil {
		tb.Fatal(err)
	}
	return d.WaitTrace(tb, seg.TraceID(), 5*time.Second)
}

// KernelDrops returns how many datagrams the kernel dropped at the
// Daemon's socket because its receive buffer was full, as /proc/net/udp
// reports them. ok is false where that cannot be read (not Linux).
func (d *Daemon) KernelDrops() (drops uint64, ok bool) {
	return SocketDrops(d.conn.LocalAddr().(*net.UDPAddr))
}

// SocketDrops returns the kernel's drop counter of the local UDP socket
// bound to addr (IPv4 or IPv6), read from /proc/net/udp{,6}. ok is false
// when no such socket is listed or the files cannot be read.
func SocketDrops(addr *net.UDPAddr) (drops uint64, ok bool) {
	_, drops, ok = socketStats(addr)
	return drops, ok
}

// socketStats reads the receive queue (bytes) and the drop counter of the
// local UDP socket bound to addr from /proc/net/udp{,6}.
func socketStats(addr *net.UDPAddr) (queued, drops uint64, ok bool) {
	file, want := "/proc/net/udp", ""
	if ip4 := addr.IP.To4(); ip4 != nil {
		want = fmt.Sprintf("%02X%02X%02X%02X:%04X", ip4[3], ip4[2], ip4[1], ip4[0], addr.Port)
	} else {
		file = "/proc/net/udp6"
		var b strings.Builder
		ip := addr.IP.To16()
		for i := 0; i < 16; i += 4 {
			fmt.Fprintf(&b, "%02X%02X%02X%02X", ip[i+3], ip[i+2], ip[i+1], ip[i])
		}
		want = fmt.Sprintf("%s:%04X", b.String(), addr.Port)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
		if len(f) >= 13 && f[1] == want {
			_, rx, _ := strings.Cut(f[4], ":")
			q, err1 := strconv.ParseUint(rx, 16, 64)
			n, err2 := strconv.ParseUint(f[12], 10, 64)
			return q, n, err1 == nil && err2 == nil
		}
	}
	return 0, 0, false
}

// clone copies a document deeply enough for Assemble: every map and list.
func clone(v Document) Document {
	var c func(any) any
	c = func(x any) any {
		switch x := x.(type) {
		case map[string]any:
			m := make(map[string]any, len(x))
			for k, v := range x {
				m[k] = c(v)
			}
			return m
		case []any:
			l := make([]any, len(x))
			for i, v := range x {
				l[i] = c(v)
			}
			return l
		}
		return x
	}
	return Document(c(map[string]any(v)).(map[string]any))
}

// look returns what has arrived, and whether the socket has settled:
// nothing waits in it and nothing arrived since the previous look, whose
// count *seen keeps (start it at -1).
func (d *Daemon) look(seen *int) ([]Datagram, bool) {
	queued, _ := d.queued()
	dgs := d.Datagrams()
	settled := queued == 0 && len(dgs) == *seen
	*seen = len(dgs)
	return dgs, settled
}

// queued returns the bytes waiting in the Daemon's socket (0 where that
// cannot be read).
func (d *Daemon) queued() (uint64, bool) {
	q, _, ok := socketStats(d.conn.LocalAddr().(*net.UDPAddr))
	return q, ok
}

// AssertNoKernelDrops fails the test if the kernel dropped any datagram at
// the Daemon's socket. Where the counter cannot be read it does nothing.
func (d *Daemon) AssertNoKernelDrops(tb testing.TB) {
	tb.Helper()
	if n, ok := d.KernelDrops(); ok && n > 0 {
		tb.Errorf("xraytest: the kernel dropped %d datagrams at the daemon's socket (receive buffer full)", n)
	}
}
