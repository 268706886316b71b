// Package header is aws-xray-sdk-go's header package on OpenXRay: the
// X-Amzn-Trace-Id header, with AdditionalData as a map as that SDK has it.
// Package github.com/openxray/xray/header is the core's version, which
// keeps the order of additional keys.
package header

import (
	"strings"

	core "github.com/openxray/xray/header"
)

// The prefixes of the header's parts.
const (
	RootPrefix    = "Root="
	ParentPrefix  = "Parent="
	SampledPrefix = "Sampled="
	SelfPrefix    = "Self="
)

// SamplingDecision is the Sampled part of the header, the core's type.
type SamplingDecision = core.SamplingDecision

// The sampling decisions.
const (
	Sampled    = core.Sampled
	NotSampled = core.NotSampled
	Requested  = core.Requested
	Unknown    = core.Unknown
)

// Header is a parsed X-Amzn-Trace-Id header.
type Header struct {
	TraceID          string
	ParentID         string
	SamplingDecision SamplingDecision
	AdditionalData   map[string]string
}

// FromString parses a header value. Parts it does not recognize go to
// AdditionalData; Self is dropped, as the load balancer's own part.
func FromString(s string) *Header {
	c := core.FromString(s)
	h := &Header{
		TraceID:          c.TraceID,
		ParentID:         c.ParentID,
		SamplingDecision: c.SamplingDecision,
		AdditionalData:   make(map[string]string, len(c.AdditionalData)),
	}
	for _, kv := range c.AdditionalData {
		h.AdditionalData[kv.Key] = kv.Value
	}
	return h
}

// String returns the header's value.
func (h Header) String() string {
	var b strings.Builder
	if h.TraceID != "" {
		b.WriteString(RootPrefix + h.TraceID)
	}
	if h.ParentID != "" {
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(ParentPrefix + h.ParentID)
	}
	if h.SamplingDecision != Unknown {
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(string(h.SamplingDecision))
	}
	for k, v := range h.AdditionalData {
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(k + "=" + v)
	}
	return b.String()
}
