//go:build linux && (amd64 || arm64)

// Package udpbatch sends several UDP datagrams in one system call
// (sendmmsg(2) on 64-bit Linux), each a header line and a document gathered
// from two buffers without copying. Elsewhere Supported is false and the
// caller sends one datagram at a time.
package udpbatch

import (
	"net"
	"syscall"
	"unsafe"
)

// mmsghdr is struct mmsghdr of sendmmsg(2) on 64-bit Linux.
type mmsghdr struct {
	hdr syscall.Msghdr
	len uint32
	_   [4]byte
}

// Supported reports whether Send works on this platform.
const Supported = true

// Max is the most datagrams one Send call takes.
const Max = 64

// Scratch holds the message headers of one sendmmsg call, reused by one
// sender goroutine.
type Scratch struct {
	msgs [Max]mmsghdr
	iovs [2 * Max]syscall.Iovec
}

// Send sends each document as its own datagram (header line + doc,
// gathered from two buffers without copying) in one sendmmsg system call.
// It returns how many were sent; on an error the first unsent document is
// the one that failed.
func Send(conn *net.UDPConn, header []byte, docs [][]byte, s *Scratch) (int, error) {
	n := min(len(docs), Max)
	for i := 0; i < n; i++ {
		d := docs[i]
		s.iovs[2*i] = syscall.Iovec{Base: &header[0]}
		s.iovs[2*i].SetLen(len(header))
		s.iovs[2*i+1] = syscall.Iovec{Base: &d[0]}
		s.iovs[2*i+1].SetLen(len(d))
		s.msgs[i] = mmsghdr{}
		s.msgs[i].hdr.Iov = &s.iovs[2*i]
		s.msgs[i].hdr.Iovlen = 2
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var sent int
	var serr error
	werr := rc.Write(func(fd uintptr) bool {
		r, _, errno := syscall.Syscall6(sysSendmmsg, fd, uintptr(unsafe.Pointer(&s.msgs[0])), uintptr(n), 0, 0, 0)
		switch errno {
		case 0:
			sent = int(r)
		case syscall.EAGAIN:
			return false // wait until the socket can take more
		default:
			serr = errno
		}
		return true
	})
	clear(s.iovs[:2*n]) // let the documents go back to the pool cleanly
	if werr != nil {
		return sent, werr
	}
	return sent, serr
}
