//go:build !(linux && (amd64 || arm64))

package xray

import (
	"errors"
	"net"
)

const canBatch = false

type batchScratch struct{}

func sendBatch(*net.UDPConn, []byte, [][]byte, *batchScratch) (int, error) {
	return 0, errors.New("sendmmsg: not on this platform")
}
