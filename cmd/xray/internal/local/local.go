// Package local runs the local daemon: the UDP receiver, the OTLP/HTTP
// receiver, the SQLite store, the viewer and the sampling API, together.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/openxray/xray/cmd/xray/internal/daemon"
	"github.com/openxray/xray/cmd/xray/internal/otlpin"
	"github.com/openxray/xray/cmd/xray/internal/store"
	"github.com/openxray/xray/cmd/xray/internal/viewer"
)

// Options configure the local daemon. Addresses default to loopback.
type Options struct {
	UDP           string        // segments; 127.0.0.1:2000
	HTTP          string        // viewer and API; 127.0.0.1:2001
	DB            string        // SQLite file; store.DefaultPath()
	Retention     time.Duration // traces older than this are deleted; 0 keeps all
	SamplingRules string        // local rules file for the sampling API
	Forward       string        // upstream daemon receiving a copy of each datagram
	// OTLP is where OTLP/HTTP traces are received (path /v1/traces);
	// 127.0.0.1:4318 by default, "off" for none. When the address is in
	// use, Start fails if OTLPRequired is set and only warns otherwise.
	OTLP         string
	OTLPRequired bool
	// ForwardOTLP is an OTLP/HTTP traces URL that receives a copy of each
	// OTLP request.
	ForwardOTLP string
	Logger      *slog.Logger
}

// Local is a running local daemon.
type Local struct {
	Daemon *daemon.Daemon
	Store  *store.Store
	// HTTPAddr is where the viewer listens.
	HTTPAddr string
	// OTLPAddr is where OTLP/HTTP traces are received; "" when not.
	OTLPAddr string
	OTLP     *otlpin.Receiver

	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error
}

// Start starts the local daemon; Close stops it.
func Start(ctx context.Context, o Options) (*Local, error) {
	if o.UDP == "" {
		o.UDP = "127.0.0.1:2000"
	}
	if o.HTTP == "" {
		o.HTTP = "127.0.0.1:2001"
	}
	if o.OTLP == "" {
		o.OTLP = "127.0.0.1:4318"
	}
	if o.DB == "" {
		o.DB = store.DefaultPath()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	rules := viewer.DefaultRules()
	if o.SamplingRules != "" {
		var err error
		if rules, err = viewer.LoadRules(o.SamplingRules); err != nil {
			return nil, fmt.Errorf("sampling rules: %w", err)
		}
	}
	st, err := store.Open(o.DB, o.Logger)
	if err != nil {
		return nil, err
	}
	d, err := daemon.Listen(daemon.Config{UDPAddr: o.UDP, Forward: o.Forward, Logger: o.Logger})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("listening for segments on udp %s: %w", o.UDP, err)
	}
	ln, err := net.Listen("tcp", o.HTTP)
	if err != nil {
		st.Close()
		d.Run(canceled()) // closes the socket
		return nil, fmt.Errorf("listening for the viewer on %s: %w", o.HTTP, err)
	}
	var oln net.Listener
	if o.OTLP != "off" {
		if oln, err = net.Listen("tcp", o.OTLP); err != nil {
			if o.OTLPRequired {
				st.Close()
				ln.Close()
				d.Run(canceled())
				return nil, fmt.Errorf("listening for OTLP on %s: %w", o.OTLP, err)
			}
			o.Logger.Warn("OTLP traces not received: the address is in use", "addr", o.OTLP, "err", err)
			oln = nil
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	l := &Local{Daemon: d, Store: st, HTTPAddr: ln.Addr().String(), cancel: cancel, errs: make(chan error, 4)}
	if oln != nil {
		l.OTLPAddr = oln.Addr().String()
		l.OTLP = otlpin.New(otlpin.Config{Forward: o.ForwardOTLP, Logger: o.Logger}, d.Offer)
	}
	var allowed []string
	if h, _, err := net.SplitHostPort(o.HTTP); err == nil && h != "" && !net.ParseIP(h).Equal(net.IPv4zero) && !net.ParseIP(h).Equal(net.IPv6unspecified) {
		allowed = append(allowed, h)
	}
	vs := &viewer.Server{Store: st, Daemon: d, Rules: rules, Logger: o.Logger, AllowedHosts: allowed}
	if l.OTLP != nil {
		vs.OTLP, vs.OTLPAddr = l.OTLP, l.OTLPAddr
	}
	srv := newServer(vs)

	l.wg.Add(5)
	go func() { defer l.wg.Done(); d.Run(ctx) }()
	go func() { defer l.wg.Done(); vs.KeepFresh(ctx) }()
	go func() { defer l.wg.Done(); st.Run(context.WithoutCancel(ctx), d.Documents()) }()
	go func() { defer l.wg.Done(); st.PruneEvery(ctx, o.Retention, time.Minute) }()
	go func() {
		defer l.wg.Done()
		stop := context.AfterFunc(ctx, func() { srv.Close() })
		defer stop()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.errs <- err
		}
	}()
	if oln != nil {
		mux := http.NewServeMux()
		mux.Handle(otlpin.Path, l.OTLP)
		osrv := newServer(mux)
		l.wg.Add(2)
		go func() { defer l.wg.Done(); l.OTLP.Run(ctx) }()
		go func() {
			defer l.wg.Done()
			stop := context.AfterFunc(ctx, func() { osrv.Close() })
			defer stop()
			if err := osrv.Serve(oln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				l.errs <- err
			}
		}()
	}
	// The AWS daemon answers the sampling API on the TCP side of its
	// address; so does this one, when the port is free.
	tcpSrv := newServer(rules.Handler())
	if tln, err := net.Listen("tcp", d.Addr().String()); err == nil {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			stop := context.AfterFunc(ctx, func() { tcpSrv.Close() })
			defer stop()
			tcpSrv.Serve(tln)
		}()
	} else {
		o.Logger.Warn("sampling API not served on the daemon's TCP port", "addr", d.Addr().String(), "err", err)
	}
	return l, nil
}

// newServer is an http.Server with every timeout set: slow or idle
// clients cannot hold connections open.
func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// Errors reports a server that stopped on its own.
func (l *Local) Errors() <-chan error { return l.errs }

// Close stops receiving, writes what is queued and closes the store.
func (l *Local) Close() error {
	l.cancel()
	l.wg.Wait()
	return l.Store.Close()
}
