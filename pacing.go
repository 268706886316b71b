package xray

import (
	"time"
)

// Pacing. The X-Ray daemon reads one datagram at a time from a socket with
// the kernel's default receive buffer. A burst faster than that reader
// fills the buffer and the kernel drops the rest without telling anyone,
// so a token bucket sends at most the burst at once and the rate after
// that (SetPacing), counting a datagram as the receiving kernel charges it
// (datagramCost).
//
// Watching the daemon's queue instead (/proc/net/udp, when it is on this
// machine) was tried and is not safe: on a busy machine loopback datagrams
// wait in the kernel's backlog, where the queue does not show them yet.

// datagramCost is what a datagram carrying a document of n bytes takes of
// a Linux receiver's socket buffer: its buffer, rounded up to a power of
// two, and the kernel's bookkeeping (measured on loopback: 256 datagrams of
// 100 bytes fill the default 208 KiB, 92 of 1 KB, 48 of 2 KB).
func datagramCost(n int) float64 {
	c := 512
	for c < n+len(DaemonHeader)+320 {
		c <<= 1
	}
	return float64(c + 256)
}

// pace returns how many of docs (at most limit, at least one) may be sent
// now, waiting first if even one may not; it charges them.
func (e *UDPEmitter) pace(docs [][]byte, limit int) int {
	rate := float64(e.rate.Load())
	if rate == 0 {
		return limit
	}
	burst := float64(e.burst.Load())
	for {
		now := time.Now()
		if e.refilled.IsZero() {
			e.tokens = burst
		} else {
			e.tokens = min(burst, e.tokens+now.Sub(e.refilled).Seconds()*rate)
		}
		e.refilled = now
		if n := e.spend(docs, limit, burst); n > 0 {
			return n
		}
		need := min(datagramCost(len(docs[0])), burst) - e.tokens
		time.Sleep(time.Duration(need / rate * float64(time.Second)))
	}
}

// spend takes at most most of docs that the tokens pay for; a document
// larger than the burst goes once the tokens reach the burst.
func (e *UDPEmitter) spend(docs [][]byte, most int, burst float64) int {
	n := 0
	for n < most {
		c := datagramCost(len(docs[n]))
		if e.tokens < min(c, burst) {
			break
		}
		e.tokens -= c
		n++
	}
	return n
}
