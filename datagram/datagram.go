// Package datagram is the X-Ray daemon's UDP format: each datagram is a
// JSON header line, {"format":"json","version":1}, a newline, and one
// segment document. The recorder writes it; the daemons of `xray local` and
// package xraytest read it.
package datagram

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Header is the line that starts every datagram, newline included.
const Header = `{"format":"json","version":1}` + "\n"

// ErrNoNewline is returned for a datagram without a header line.
var ErrNoNewline = errors.New("no newline after the header")

// Split checks the header line of b, as the AWS daemon does (any JSON
// object with format "json" and version 1), and returns the document after
// it, which shares b's memory.
func Split(b []byte) (doc []byte, err error) {
	head, body, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return nil, ErrNoNewline
	}
	var h struct {
		Format  *string `json:"format"`
		Version *int    `json:"version"`
	}
	if err := json.Unmarshal(head, &h); err != nil {
		return nil, fmt.Errorf("header %.80q: %w", head, err)
	}
	if h.Format == nil || *h.Format != "json" || h.Version == nil || *h.Version != 1 {
		return nil, fmt.Errorf("header %.80q: not format json, version 1", head)
	}
	return body, nil
}
