package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Daemon.
type Config struct {
	// UDPAddr is where segments arrive; 127.0.0.1:2000 like the AWS daemon.
	UDPAddr string
	// Forward, when set, is an upstream daemon (the AWS X-Ray daemon, the
	// CloudWatch agent, an OpenTelemetry collector's awsxray receiver) that
	// receives a copy of every datagram, unchanged.
	Forward string
	// QueueLen bounds the documents waiting for the store.
	QueueLen int
	Logger   *slog.Logger
}

// Daemon receives datagrams, counts and parses them, and hands documents to
// the store through a bounded queue: the receive loop never waits for the
// database, and a full queue drops and counts.
type Daemon struct {
	conn   *net.UDPConn
	fwd    *net.UDPConn
	out    chan Document
	logger *slog.Logger

	received, accepted, forwarded, forwardErrors atomic.Uint64

	mu      sync.Mutex
	stopped bool // out is closed
	refused map[string]uint64
	lastLog time.Time
}

// Listen opens the UDP socket (and the forwarding one).
func Listen(cfg Config) (*Daemon, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 10000
	}
	addr, err := net.ResolveUDPAddr("udp", cfg.UDPAddr)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return nil, err
	}
	_ = conn.SetReadBuffer(8 << 20)
	d := &Daemon{conn: conn, out: make(chan Document, cfg.QueueLen), logger: cfg.Logger, refused: map[string]uint64{}}
	if cfg.Forward != "" {
		faddr, err := net.ResolveUDPAddr("udp", cfg.Forward)
		if err == nil {
			d.fwd, err = net.DialUDP("udp", nil, faddr)
		}
		if err != nil {
			conn.Close()
			return nil, err
		}
	}
	return d, nil
}

// Addr is the address the daemon listens on.
func (d *Daemon) Addr() net.Addr { return d.conn.LocalAddr() }

// Documents is the queue of accepted documents, closed when Run returns.
func (d *Daemon) Documents() <-chan Document { return d.out }

// Run receives until ctx is done.
func (d *Daemon) Run(ctx context.Context) error {
	defer func() {
		d.mu.Lock()
		d.stopped = true
		close(d.out)
		d.mu.Unlock()
	}()
	stop := context.AfterFunc(ctx, func() { d.conn.Close() })
	defer stop()
	defer func() {
		if d.fwd != nil {
			d.fwd.Close()
		}
	}()
	buf := make([]byte, MaxDocument+1024)
	for {
		n, _, err := d.conn.ReadFromUDP(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			d.logger.Warn("daemon: receiving", "err", err)
			continue
		}
		d.received.Add(1)
		if d.fwd != nil {
			if _, err := d.fwd.Write(buf[:n]); err != nil {
				d.forwardErrors.Add(1)
			} else {
				d.forwarded.Add(1)
			}
		}
		doc, err := Parse(buf[:n])
		if err != nil {
			var pe *ParseError
			reason := ReasonJSON
			if errors.As(err, &pe) {
				reason = pe.Reason
			}
			d.refuse(reason, err)
			continue
		}
		d.Offer(doc)
	}
}

// Offer queues a document for the store, as a received datagram's is,
// without waiting: it reports false, counting the document refused, when
// the queue is full or the daemon has stopped. Other receivers (OTLP) use
// it so that every document shares the same bound and counters.
func (d *Daemon) Offer(doc Document) (ok bool) {
	d.mu.Lock()
	stopped := d.stopped
	if !stopped {
		select {
		case d.out <- doc:
			ok = true
		default:
		}
	}
	d.mu.Unlock()
	switch {
	case ok:
		d.accepted.Add(1)
	case stopped:
		d.refuse(ReasonStopped, errors.New("the daemon has stopped"))
	default:
		d.refuse(ReasonQueueFull, errors.New("the store is behind"))
	}
	return ok
}

// refuse counts a refused datagram and logs at most one line a second.
func (d *Daemon) refuse(reason string, err error) {
	d.mu.Lock()
	d.refused[reason]++
	log := time.Since(d.lastLog) > time.Second
	if log {
		d.lastLog = time.Now()
	}
	d.mu.Unlock()
	if log {
		d.logger.Warn("daemon: datagram refused (logged at most once a second)", "reason", reason, "err", err)
	}
}

// Stats are the daemon's counters.
type Stats struct {
	Received      uint64            `json:"datagrams_received"`
	Accepted      uint64            `json:"documents_accepted"`
	Refused       map[string]uint64 `json:"refused"`
	Queued        int               `json:"queued"`
	Forwarded     uint64            `json:"forwarded"`
	ForwardErrors uint64            `json:"forward_errors"`
}

// Stats returns the counters.
func (d *Daemon) Stats() Stats {
	d.mu.Lock()
	refused := make(map[string]uint64, len(d.refused))
	for k, v := range d.refused {
		refused[k] = v
	}
	d.mu.Unlock()
	return Stats{
		Received: d.received.Load(), Accepted: d.accepted.Load(), Refused: refused,
		Queued: len(d.out), Forwarded: d.forwarded.Load(), ForwardErrors: d.forwardErrors.Load(),
	}
}
