package xray

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

const hexDigits = "0123456789abcdef"

// traceID is an X-Ray trace ID in its text form: 1-<8 hex>-<24 hex>.
// Kept as an array so that starting a segment does not allocate it.
type traceID [35]byte

// entityID is a segment or subsegment ID: 16 lower-case hex digits.
type entityID [16]byte

// newTraceID makes a trace ID for a trace starting at now. The random part
// comes from the runtime's ChaCha8 generator (math/rand/v2), which is seeded
// from the operating system, safe for concurrent use and does not lock.
func newTraceID(nowNano int64) traceID {
	var t traceID
	t[0], t[1], t[10] = '1', '-', '-'
	putHex(t[2:10], uint64(uint32(nowNano/1e9)), 8)
	putHex(t[11:27], rand.Uint64(), 16)
	putHex(t[27:35], uint64(rand.Uint32()), 8)
	return t
}

func newEntityID() entityID {
	var id entityID
	putHex(id[:], rand.Uint64(), 16)
	return id
}

// hexPairs holds the two hex digits of every byte value.
var hexPairs = func() (t [512]byte) {
	for i := range 256 {
		t[2*i], t[2*i+1] = hexDigits[i>>4], hexDigits[i&0xf]
	}
	return
}()

// putHex writes the low digits (an even number) hex digits of v to dst.
func putHex(dst []byte, v uint64, digits int) {
	for i := digits - 2; i >= 0; i -= 2 {
		b := v & 0xff
		dst[i], dst[i+1] = hexPairs[2*b], hexPairs[2*b+1]
		v >>= 8
	}
}

// clockBase pairs a wall-clock reading with the monotonic clock. Reading
// the monotonic clock alone (time.Since) costs half of time.Now on common
// VMs; the base is read again every minute so that steps of the wall clock
// are followed.
type clockBase struct {
	t    time.Time
	wall int64
}

var clock atomic.Pointer[clockBase]

const clockRefresh = int64(time.Minute)

// nowNano returns the current Unix time in nanoseconds.
func nowNano() int64 {
	b := clock.Load()
	if b != nil {
		if d := int64(time.Since(b.t)); d >= 0 && d < clockRefresh {
			return b.wall + d
		}
	}
	t := time.Now()
	clock.Store(&clockBase{t: t, wall: t.UnixNano()})
	return t.UnixNano()
}

func (t *traceID) String() string   { return string(t[:]) }
func (id *entityID) String() string { return string(id[:]) }
func (id *entityID) isZero() bool   { return id[0] == 0 }

// parseEntityID copies a 16-hex-digit ID, lower-casing it. The caller has
// validated it (header.ValidEntityID).
func parseEntityID(s string) (id entityID) {
	for i := range id {
		c := s[i]
		if 'A' <= c && c <= 'F' {
			c += 'a' - 'A'
		}
		id[i] = c
	}
	return id
}

func parseTraceID(s string) (t traceID) {
	for i := range t {
		c := s[i]
		if 'A' <= c && c <= 'F' {
			c += 'a' - 'A'
		}
		t[i] = c
	}
	return t
}
