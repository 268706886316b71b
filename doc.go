// Package xray records traces in the AWS X-Ray format and sends them to an
// X-Ray daemon, the CloudWatch agent or an OpenTelemetry collector over the
// daemon's UDP segment protocol, or as OpenTelemetry spans over OTLP/HTTP
// (to a collector, the CloudWatch agent, Jaeger, or X-Ray's OTLP endpoint),
// or both.
//
// A segment records the work one service does for one request; subsegments
// record the units of work inside it (a database query, an HTTP call). Both
// travel in a context.Context:
//
//	ctx, seg := xray.BeginSegment(ctx, "checkout")
//	defer seg.Close(nil)
//
//	ctx, sub := xray.BeginSubsegment(ctx, "load-cart")
//	xray.AddAnnotation(ctx, "cart_size", 3) // indexed: searchable in X-Ray
//	xray.AddMetadata(ctx, "cart", cart)     // not indexed: any JSON value
//	sub.Close(err)
//
// Every method works on a nil *Segment, so code never checks whether it is
// traced. Capture runs a function in a subsegment and records its error or
// panic.
//
// # Sending
//
// Closing a segment encodes it (with the subsegments closed by then) on the
// caller's goroutine and hands it to an Emitter; the default UDPEmitter
// sends from its own goroutine, so the caller never waits on the network,
// and paces bursts so that the daemon's socket buffer does not overflow
// (UDPEmitter.SetPacing). Documents larger than a UDP datagram are split,
// the parent first, subsegments of long segments are streamed ahead
// (Config.StreamingThreshold) after an in-progress version of their
// segment, and Flush waits for what has been closed so far, for
// short-lived programs.
//
// With Config.Exporters (or OTEL_TRACES_EXPORTER) naming ExporterOTLP,
// closing a segment also (or instead) encodes each entity as an OTLP span
// and queues it for an OTLPExporter, which sends batches from its own
// goroutine, retries what the endpoint asks to retry, and drops and counts
// what does not fit its queue. The mapping between X-Ray and OpenTelemetry
// follows AWS's conventions; see OTLPExporter and the README.
//
// # Sampling
//
// The recorder's sampling.Strategy decides per segment; an upstream decision
// in the X-Amzn-Trace-Id header, or in a W3C traceparent (package header
// reads both), is honoured through WithTraceHeader. An unsampled segment costs one small allocation, records
// nothing and still propagates its trace ID.
//
// # Configuration
//
// Configure sets up the default recorder used by the package-level
// functions; New makes independent ones. The AWS_XRAY_* environment
// variables are read as the AWS X-Ray SDKs read them; see Config.
//
// Tests of instrumented code use package xraytest.
package xray
