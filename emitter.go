package xray

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openxray/xray/internal/udpbatch"
)

// Emitter sends encoded segment documents somewhere: the daemon, an
// OpenTelemetry collector, a test's memory, several of those at once.
// Implementations must be safe for concurrent use and must not block in
// Emit.
//
// Buffers: the recorder hands each document to Emit once and never touches
// it again, so an emitter may keep doc or pass it to other emitters as it
// is; it must not modify it. The emitters of this package copy what their
// Emit method is given before they recycle anything, so a fan-out emitter
// that hands one document to several of them never sees a buffer reused
// under it.
type Emitter interface {
	// Emit takes one complete JSON segment document, without the daemon
	// header.
	Emit(doc []byte)
	// Flush returns once every document emitted before the call has been
	// sent (or counted as dropped), or ctx is done.
	Flush(ctx context.Context) error
	// Shutdown flushes, then releases what the emitter holds (goroutines,
	// sockets, connections). Documents emitted afterwards are dropped. It
	// returns when done or when ctx is, and may be called more than once.
	Shutdown(ctx context.Context) error
}

// Limits of the UDP emitter's queue. A document that does not fit is
// dropped and counted, so a program whose daemon is gone keeps its memory.
const (
	udpQueueLen      = 4096
	udpQueueMaxBytes = 16 << 20
	udpIdleTimeout   = 5 * time.Second
	udpBatchSize     = udpbatch.Max
	// udpInterval is how often the sender collects what was emitted: one
	// wake-up and one sendmmsg per interval instead of one per document.
	udpInterval = time.Millisecond
	logEvery    = 30 * time.Second

	// DefaultPacingRate and DefaultPacingBurst pace the UDP emitter for
	// the X-Ray daemon, which reads one datagram at a time from a socket
	// with the kernel's default receive buffer (208 KiB on Linux, charged
	// about twice a datagram's size). A burst faster than that reader
	// overflows the buffer and the kernel drops silently, so the emitter
	// sends at most DefaultPacingBurst bytes at once and
	// DefaultPacingRate bytes a second after that, both counted as the
	// receiver's kernel charges them (1,280 bytes for a document of 200 to
	// 700 bytes, 2,304 for one of a kilobyte). 28 MB/s is 22,900 small
	// segments or 12,700 one-kilobyte subsegments a second; with a 32 KiB
	// burst, a reader that stalls for 6 ms loses nothing.
	DefaultPacingRate  = 28 << 20
	DefaultPacingBurst = 32 << 10
)

// UDPEmitter sends documents to the X-Ray daemon over UDP, one per
// datagram, from a goroutine of its own: the caller's Emit only enqueues.
// It paces what it sends (SetPacing) so that a burst does not overflow the
// daemon's socket buffer, where the kernel would drop datagrams silently.
// The goroutine starts with the first document and exits after a few idle
// seconds, so an idle program runs none. When the daemon cannot be reached
// documents are dropped, counted (Dropped) and reported in a log line at
// most every 30 seconds.
type UDPEmitter struct {
	addr   string
	logger *slog.Logger

	queue  chan emitItem
	kick   chan struct{} // wakes the sender before its tick: deep queue, Flush, Close
	queued atomic.Int64  // bytes in queue
	// running is true while a sender goroutine owns conn; the CAS on it
	// hands conn from one sender goroutine to the next.
	running atomic.Bool
	// sleeping is true while the sender waits for a nudge instead of
	// ticking: the next Emit wakes it.
	sleeping atomic.Bool
	closed   atomic.Bool
	done     chan struct{} // closed when Close has stopped the sender

	sent, dropped atomic.Uint64
	lastLog       atomic.Int64

	conn      *net.UDPConn     // owned by the sender goroutine
	dialAfter time.Time        // owned by the sender goroutine
	scratch   []byte           // owned by the sender goroutine
	pending   [][]byte         // owned by the sender goroutine
	batch     udpbatch.Scratch // owned by the sender goroutine
	single    atomic.Bool      // batching turned off
	sync      atomic.Bool      // SetSynchronous

	// The synchronous path's own socket.
	syncMu        sync.Mutex
	syncConn      *net.UDPConn
	syncDialAfter time.Time
	syncBuf       []byte
	closeOnce     sync.Once

	// Pacing, owned by the sender goroutine but for the settings.
	rate, burst atomic.Int64 // bytes per second, bytes; rate 0: no pacing
	tokens      float64      // bytes that may go now; negative: owed
	refilled    time.Time    // when tokens was last brought up to date
}

type emitItem struct {
	doc  []byte
	done chan struct{} // flush marker when non-nil
	stop bool
}

// NewUDPEmitter returns an emitter that sends to addr (host:port). Nothing
// is resolved or dialled until the first document. A nil logger means
// slog.Default().
func NewUDPEmitter(addr string, logger *slog.Logger) *UDPEmitter {
	if logger == nil {
		logger = slog.Default()
	}
	e := &UDPEmitter{
		addr:   addr,
		logger: logger,
		queue:  make(chan emitItem, udpQueueLen),
		kick:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	e.SetPacing(DefaultPacingRate, DefaultPacingBurst)
	return e
}

// SetPacing sets how fast the emitter sends: at most burst bytes at once,
// then bytesPerSecond, where a datagram counts as the receiving kernel
// charges it (see DefaultPacingRate). Raise them for a receiver with a
// larger socket buffer, such as a daemon started with a bigger
// net.core.rmem_default; a rate of 0 turns pacing off. Emit never waits
// for pacing: documents wait in the emitter's bounded queue.
func (e *UDPEmitter) SetPacing(bytesPerSecond, burst int) {
	e.rate.Store(int64(max(bytesPerSecond, 0)))
	e.burst.Store(int64(max(burst, MaxDocumentSize+len(DaemonHeader))))
}

// Sent returns the number of documents written to the socket.
func (e *UDPEmitter) Sent() uint64 { return e.sent.Load() }

// Dropped returns the number of documents lost: queue full, daemon
// unreachable or emitter closed.
func (e *UDPEmitter) Dropped() uint64 { return e.dropped.Load() }

// Emit enqueues a copy of doc without blocking.
func (e *UDPEmitter) Emit(doc []byte) {
	if len(doc) == 0 {
		return
	}
	e.enqueue(append(getBuffer(), doc...))
}

// enqueue queues doc, a buffer of the recorder's pool, which is recycled
// once sent or dropped.
func (e *UDPEmitter) enqueue(doc []byte) {
	if e.closed.Load() || len(doc) == 0 {
		e.drop(doc, "emitter closed")
		return
	}
	if e.sync.Load() {
		e.sendNow(doc)
		return
	}
	n := int64(len(doc))
	if e.queued.Add(n) > udpQueueMaxBytes {
		e.queued.Add(-n)
		e.drop(doc, "queue full")
		return
	}
	select {
	case e.queue <- emitItem{doc: doc}:
		if len(e.queue) >= udpBatchSize || (e.sleeping.Load() && e.sleeping.CompareAndSwap(true, false)) {
			e.nudge()
		}
		e.wake()
	default:
		e.queued.Add(-n)
		e.drop(doc, "queue full")
	}
}

// wake starts the sender goroutine if none runs.
func (e *UDPEmitter) wake() {
	if !e.running.Load() && e.running.CompareAndSwap(false, true) {
		go e.run()
	}
}

// nudge asks the sender to collect now rather than at its next tick.
func (e *UDPEmitter) nudge() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Flush waits until every document emitted before the call has been
// written to the socket (or dropped), or ctx is done.
func (e *UDPEmitter) Flush(ctx context.Context) error {
	if e.closed.Load() {
		return nil
	}
	done := make(chan struct{})
	select {
	case e.queue <- emitItem{done: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	e.nudge()
	e.wake()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close is Shutdown.
//
// Deprecated: use Shutdown, the name every Emitter has.
func (e *UDPEmitter) Close(ctx context.Context) error { return e.Shutdown(ctx) }

// Shutdown sends what is queued, stops the sender goroutine and closes the
// socket. Documents emitted afterwards are dropped.
func (e *UDPEmitter) Shutdown(ctx context.Context) error {
	var err error
	e.closeOnce.Do(func() {
		err = e.Flush(ctx)
		e.closed.Store(true)
		select {
		case e.queue <- emitItem{stop: true}:
		case <-ctx.Done():
			err = errors.Join(err, ctx.Err())
			return
		}
		e.nudge()
		e.wake()
		select {
		case <-e.done:
		case <-ctx.Done():
			err = errors.Join(err, ctx.Err())
		}
		e.syncMu.Lock()
		if e.syncConn != nil {
			e.syncConn.Close()
			e.syncConn = nil
		}
		e.syncMu.Unlock()
	})
	return err
}

// run is the sender goroutine. While documents keep coming it collects
// them every millisecond (or when nudged by a deep queue) and sends them
// several per system call; Emit does not wake it. After two ticks with
// nothing to send it sleeps until the next Emit nudges it, so a quiet
// program is not woken a thousand times a second; after five idle seconds
// it exits.
func (e *UDPEmitter) run() {
	tick := time.NewTicker(udpInterval)
	defer tick.Stop()
	idle := time.NewTimer(udpIdleTimeout)
	defer idle.Stop()
	var batch [udpBatchSize]emitItem
	empty := 0 // ticks in a row with nothing to send
	for {
		if empty >= 2 {
			e.sleeping.Store(true)
			// Something enqueued before sleeping was set saw it false
			// and did not nudge: look once more before waiting.
			if len(e.queue) == 0 {
				select {
				case <-e.kick:
				case <-idle.C:
					e.sleeping.Store(false)
					e.running.Store(false)
					// A document enqueued after the last look but before
					// running was cleared saw running=true and started
					// nobody.
					if len(e.queue) == 0 || !e.running.CompareAndSwap(false, true) {
						return
					}
				}
			}
			e.sleeping.Store(false)
			tick.Reset(udpInterval)
		} else {
			select {
			case <-tick.C:
			case <-e.kick:
			}
		}
		worked := false
		for {
			n := 0
		drain:
			for n < len(batch) {
				select {
				case it := <-e.queue:
					batch[n] = it
					n++
				default:
					break drain
				}
			}
			if n == 0 {
				break
			}
			worked = true
			stop := e.handle(batch[:n])
			clear(batch[:n])
			if stop {
				return
			}
		}
		if worked {
			empty = 0
			if !idle.Stop() {
				select {
				case <-idle.C:
				default:
				}
			}
			idle.Reset(udpIdleTimeout)
		} else {
			empty++
		}
	}
}

// SetBatching turns sending several datagrams in one system call
// (sendmmsg, on Linux) on or off; it is on by default where available.
func (e *UDPEmitter) SetBatching(on bool) { e.single.Store(!on) }

// handle sends the items in order; it returns true when told to stop.
// Consecutive documents go out together.
func (e *UDPEmitter) handle(items []emitItem) bool {
	for _, it := range items {
		switch {
		case it.stop:
			e.sendPending()
			if e.conn != nil {
				e.conn.Close()
				e.conn = nil
			}
			close(e.done)
			return true
		case it.done != nil:
			e.sendPending()
			close(it.done)
		default:
			e.queued.Add(-int64(len(it.doc)))
			e.pending = append(e.pending, it.doc)
		}
	}
	e.sendPending()
	return false
}

var daemonHeader = []byte(DaemonHeader)

// sendPending sends the documents gathered by handle, one datagram each.
func (e *UDPEmitter) sendPending() {
	docs := e.pending
	defer func() {
		clear(e.pending)
		e.pending = e.pending[:0]
	}()
	if len(docs) == 0 {
		return
	}
	if e.conn == nil && !e.dial() {
		for _, d := range docs {
			e.drop(d, "daemon address cannot be resolved")
		}
		return
	}
	for len(docs) > 0 {
		batch := udpbatch.Supported && len(docs) > 1 && !e.single.Load()
		n := 1
		if batch {
			n = min(len(docs), udpBatchSize)
		}
		n = e.pace(docs, n)
		if n > 1 {
			sent, err := udpbatch.Send(e.conn, daemonHeader, docs[:n], &e.batch)
			for _, d := range docs[:sent] {
				putBuffer(d)
			}
			e.sent.Add(uint64(sent))
			docs = docs[sent:]
			if err != nil && len(docs) > 0 {
				e.drop(docs[0], err.Error())
				docs = docs[1:]
			}
			continue
		}
		e.send(docs[0])
		docs = docs[1:]
	}
}

func (e *UDPEmitter) send(doc []byte) {
	defer putBuffer(doc)
	e.scratch = append(append(e.scratch[:0], DaemonHeader...), doc...)
	if _, err := e.conn.Write(e.scratch); err != nil {
		e.drop(nil, err.Error())
		return
	}
	e.sent.Add(1)
}

func (e *UDPEmitter) dial() bool {
	e.conn = dialUDP(e.addr, &e.dialAfter)
	return e.conn != nil
}

// dialUDP connects to addr, at most once a second after a failure
// (*after says when the next try may be).
func dialUDP(addr string, after *time.Time) *net.UDPConn {
	if time.Now().Before(*after) {
		return nil
	}
	raddr, err := net.ResolveUDPAddr("udp", addr)
	var conn *net.UDPConn
	if err == nil {
		conn, err = net.DialUDP("udp", nil, raddr)
	}
	if err != nil {
		*after = time.Now().Add(time.Second)
		return nil
	}
	return conn
}

// SetSynchronous makes Emit send each document at once, on the goroutine
// that emits it (the one closing a segment), as aws-xray-sdk-go does,
// instead of queueing it for the sender goroutine. A program that may be
// frozen or may exit as soon as it returns (an AWS Lambda function, a
// command) then loses nothing without calling Flush; each document costs
// its caller one system call and is not paced. Call it before the first
// Emit.
func (e *UDPEmitter) SetSynchronous(on bool) { e.sync.Store(on) }

// sendNow writes doc to the daemon on the caller's goroutine.
func (e *UDPEmitter) sendNow(doc []byte) {
	defer putBuffer(doc)
	e.syncMu.Lock()
	defer e.syncMu.Unlock()
	if e.syncConn == nil {
		if e.syncConn = dialUDP(e.addr, &e.syncDialAfter); e.syncConn == nil {
			e.drop(nil, "daemon address cannot be resolved")
			return
		}
	}
	e.syncBuf = append(append(e.syncBuf[:0], DaemonHeader...), doc...)
	if _, err := e.syncConn.Write(e.syncBuf); err != nil {
		e.drop(nil, err.Error())
		return
	}
	e.sent.Add(1)
}

func (e *UDPEmitter) drop(doc []byte, why string) {
	if doc != nil {
		putBuffer(doc)
	}
	n := e.dropped.Add(1)
	now := time.Now().UnixNano()
	last := e.lastLog.Load()
	if now-last < int64(logEvery) || !e.lastLog.CompareAndSwap(last, now) {
		return
	}
	e.logger.Warn("xray: segment documents dropped", "daemon", e.addr, "reason", why, "dropped_total", n)
}

// DiscardEmitter drops every document. Use it to measure instrumented code
// without the network, or to keep recording while sending nothing.
type DiscardEmitter struct{}

// Emit drops doc.
func (DiscardEmitter) Emit(doc []byte) {}

// Flush returns at once.
func (DiscardEmitter) Flush(context.Context) error { return nil }

// Shutdown returns at once.
func (DiscardEmitter) Shutdown(context.Context) error { return nil }
