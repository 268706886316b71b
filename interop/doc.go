// Package interop holds the tests that prove OpenXRay works with the
// OpenTelemetry world: the OTLP exporter's requests decoded by the
// collector's own pdata, W3C trace context exchanged with services
// instrumented with the OpenTelemetry SDK (otelhttp, otelgrpc), and traces
// exported to Jaeger and read back through its query API. It is a module
// of its own so that none of these dependencies reach the core's users.
package interop
