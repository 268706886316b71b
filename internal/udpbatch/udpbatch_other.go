//go:build !(linux && (amd64 || arm64))

// Package udpbatch sends several UDP datagrams in one system call where
// the platform has sendmmsg(2); here it has not.
package udpbatch

import (
	"errors"
	"net"
)

// Supported reports whether Send works on this platform.
const Supported = false

// Max is the most datagrams one Send call takes.
const Max = 64

// Scratch is unused here.
type Scratch struct{}

// Send fails: there is no sendmmsg here.
func Send(*net.UDPConn, []byte, [][]byte, *Scratch) (int, error) {
	return 0, errors.New("sendmmsg: not on this platform")
}
