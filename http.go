package xray

import (
	"net/http"

	"github.com/openxray/xray/xrayhttp"
)

// The HTTP integration under the names aws-xray-sdk-go uses; package
// xrayhttp has the options.
type (
	// SegmentNamer names the segment of a request from its host.
	SegmentNamer = xrayhttp.SegmentNamer
	// FixedSegmentNamer names every segment the same.
	FixedSegmentNamer = xrayhttp.FixedSegmentNamer
	// DynamicSegmentNamer names segments by recognized hosts.
	DynamicSegmentNamer = xrayhttp.DynamicSegmentNamer
)

// Handler returns h wrapped so that each request is a segment named by
// namer; see xrayhttp.Handler.
func Handler(namer SegmentNamer, h http.Handler) http.Handler {
	return xrayhttp.Handler(namer, h)
}

// NewFixedSegmentNamer returns a namer that always answers name.
func NewFixedSegmentNamer(name string) *FixedSegmentNamer {
	return xrayhttp.NewFixedSegmentNamer(name)
}

// NewDynamicSegmentNamer returns a namer that uses the request's host when
// it matches recognizedHosts (with * and ? wildcards) and fallback
// otherwise.
func NewDynamicSegmentNamer(fallback, recognizedHosts string) *DynamicSegmentNamer {
	return xrayhttp.NewDynamicSegmentNamer(fallback, recognizedHosts)
}

// Client returns a copy of c whose requests are traced; see
// xrayhttp.Client.
func Client(c *http.Client) *http.Client { return xrayhttp.Client(c) }

// RoundTripper returns rt with each request traced; see
// xrayhttp.RoundTripper.
func RoundTripper(rt http.RoundTripper) http.RoundTripper { return xrayhttp.RoundTripper(rt) }
