package xray

// Buffers are recycled through a bounded free list; a channel of slices
// costs no allocation per Get or Put, unlike a sync.Pool of slices.
var freeBuffers = make(chan []byte, 64)

const maxPooledBuffer = 64 << 10

func getBuffer() []byte {
	select {
	case b := <-freeBuffers:
		return b[:0]
	default:
		return make([]byte, 0, 2048)
	}
}

// putBuffer recycles b; the caller must not use it afterwards.
func putBuffer(b []byte) {
	if cap(b) > maxPooledBuffer || cap(b) == 0 {
		return
	}
	select {
	case freeBuffers <- b:
	default:
	}
}
