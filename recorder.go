package xray

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openxray/xray/daemonaddr"
	"github.com/openxray/xray/header"
	"github.com/openxray/xray/internal/jsonx"
	"github.com/openxray/xray/sampling"
)

// SDKName and SDKVersion are written to every segment as aws.xray.sdk and
// aws.xray.sdk_version.
const (
	SDKName    = "OpenXRay for Go"
	SDKVersion = "0.1.0"
)

// Defaults of Config.
const (
	DefaultStreamingThreshold = 20
	DefaultMaxStackDepth      = 32
)

// Config configures a Recorder. The zero value is valid: it sends to the
// daemon at 127.0.0.1:2000 over UDP and samples with centralized sampling
// (the rules set in X-Ray, read through the daemon; until they arrive, and
// when they cannot be read, one request per second and five percent of the
// rest).
//
// The AWS_XRAY_* environment variables are read once, when the recorder is
// made, and take precedence over the fields they correspond to, as in the
// AWS X-Ray SDKs, so operators can redirect a deployed program:
//
//   - AWS_XRAY_DAEMON_ADDRESS: DaemonAddr, "host:port" or
//     "tcp:host:port udp:host:port";
//   - AWS_XRAY_CONTEXT_MISSING: ContextMissingStrategy, one of LOG_ERROR
//     (the default), RUNTIME_ERROR or IGNORE_ERROR;
//   - AWS_XRAY_TRACING_NAME: the name of every segment;
//   - AWS_XRAY_SDK_DISABLED=true or AWS_XRAY_SDK_ENABLED=false: Disabled.
//
// The OpenTelemetry SDKs' variables choose and configure the destinations,
// with the same precedence over the fields:
//
//   - OTEL_TRACES_EXPORTER: Exporters, a comma-separated list of xray
//     (segment documents to the daemon, the default), otlp (spans over
//     OTLP/HTTP) and none;
//   - OTEL_EXPORTER_OTLP_ENDPOINT (to which /v1/traces is added) or
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as it is): OTLP.Endpoint;
//   - OTEL_EXPORTER_OTLP_HEADERS: OTLP.Headers, as k1=v1,k2=v2;
//   - OTEL_EXPORTER_OTLP_COMPRESSION: OTLP.Compression, gzip or none;
//   - OTEL_EXPORTER_OTLP_TIMEOUT: OTLP.Timeout, in milliseconds;
//   - OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is supported;
//   - OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES: OTLP.ServiceName and
//     OTLP.ResourceAttributes;
//   - OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE and
//     OTEL_BSP_MAX_EXPORT_BATCH_SIZE: OTLP.BatchTimeout, MaxQueueSize and
//     MaxBatchSize.
//
// The *_TRACES_* form of each OTLP variable wins over the general one.
type Config struct {
	// DaemonAddr is where the X-Ray daemon (or the CloudWatch agent, or an
	// OpenTelemetry collector with the awsxray receiver) listens.
	DaemonAddr string
	// ServiceVersion is recorded on segments as service.version.
	ServiceVersion string
	// SamplingStrategy decides which segments are recorded; nil means
	// centralized sampling (sampling.NewCentralizedStrategy) through the
	// daemon's TCP address, with the local default rules until X-Ray's
	// rules arrive, as in the AWS SDKs. The recorder closes the strategy
	// it made on Close.
	SamplingStrategy sampling.Strategy
	// Plugins detect the AWS environment (plugins/ec2, plugins/ecs,
	// plugins/eks, plugins/beanstalk). They run once, in New, for at most
	// PluginTimeout (zero means DefaultPluginTimeout); every segment then
	// carries what they found in its aws block, and the most specific
	// origin.
	Plugins       []Plugin
	PluginTimeout time.Duration
	// ContextMissingStrategy is told about calls made without a segment;
	// nil means NewLogErrorStrategy(Logger).
	ContextMissingStrategy ContextMissingStrategy
	// StreamingThreshold is the number of closed subsegments a segment
	// holds before they are sent ahead of the segment. Zero means
	// DefaultStreamingThreshold; negative turns streaming off.
	StreamingThreshold int
	// MaxStackDepth is the number of frames recorded with an error. Zero
	// means DefaultMaxStackDepth; negative records no stack.
	MaxStackDepth int
	// Exporters names the destinations: ExporterXRay (segment documents to
	// Emitter), ExporterOTLP (spans to the OTLP endpoint), or both. Empty
	// means ExporterXRay.
	Exporters []string
	// OTLP configures the OTLP exporter, when Exporters has ExporterOTLP.
	OTLP OTLPConfig
	// Emitter receives the encoded documents; nil means a UDPEmitter to
	// DaemonAddr.
	Emitter Emitter
	// SyncSend sends each document on the goroutine that closes the
	// segment, as aws-xray-sdk-go does (see UDPEmitter.SetSynchronous),
	// instead of from the emitter's goroutine. It is on by default in AWS
	// Lambda, where the process is frozen as soon as the handler returns.
	// It applies to the default UDP emitter only.
	SyncSend bool
	// Logger receives the SDK's own warnings; nil means slog.Default().
	Logger *slog.Logger
	// Disabled turns every call into a no-op.
	Disabled bool
}

// Recorder records segments and sends them to an Emitter. Most programs
// use the default recorder through the package-level functions; New makes
// independent ones. A subsegment is always recorded by its segment's
// recorder. A Recorder is safe for concurrent use.
//
// Make recorders with New: the zero Recorder (like a nil *Recorder) is a
// disabled one, whose methods record nothing and never panic.
type Recorder struct {
	emitter            Emitter
	sampler            sampling.Strategy
	ctxMissing         ContextMissingStrategy
	logger             *slog.Logger
	streamingThreshold int
	maxStackDepth      int
	tracingName        string
	disabled           bool
	workingDir         string
	udp                *UDPEmitter // the emitter, when it is ours
	otlp               *OTLPExporter
	noDocs             bool      // no segment documents are sent (OTLP only, or none)
	ownSampler         io.Closer // the sampling strategy, when it is ours
	origin             string    // from the plugins
	pluginFields       []byte    // aws block entries from the plugins, each with a trailing comma

	// Pre-encoded fields that are the same in every segment.
	sdkFields     []byte // "sdk":"…","sdk_version":"…"
	serviceFields []byte // "service":{…}

	closeOnce sync.Once
}

// New makes a recorder from cfg and the AWS_XRAY_* environment variables.
func New(cfg Config) (*Recorder, error) {
	return newRecorder(cfg, os.Getenv)
}

func newRecorder(cfg Config, getenv func(string) string) (*Recorder, error) {
	r := &Recorder{
		sampler:            cfg.SamplingStrategy,
		ctxMissing:         cfg.ContextMissingStrategy,
		logger:             cfg.Logger,
		streamingThreshold: cfg.StreamingThreshold,
		maxStackDepth:      cfg.MaxStackDepth,
		disabled:           cfg.Disabled,
		tracingName:        strings.TrimSpace(getenv("AWS_XRAY_TRACING_NAME")),
	}
	if r.logger == nil {
		r.logger = slog.Default()
	}
	if v := getenv("AWS_XRAY_SDK_DISABLED"); v != "" {
		if b, err := strconv.ParseBool(v); err == nil {
			r.disabled = r.disabled || b
		}
	}
	if v := getenv("AWS_XRAY_SDK_ENABLED"); v != "" {
		if b, err := strconv.ParseBool(v); err == nil && !b {
			r.disabled = true
		}
	}
	if v := getenv("AWS_XRAY_CONTEXT_MISSING"); v != "" || r.ctxMissing == nil {
		s, err := contextMissingStrategy(v, r.logger)
		if err != nil {
			return nil, err
		}
		r.ctxMissing = s
	}
	if r.disabled {
		return r, nil
	}
	addr := cfg.DaemonAddr
	if v := getenv("AWS_XRAY_DAEMON_ADDRESS"); v != "" {
		addr = v
	}
	daemon, err := daemonaddr.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("xray: %w", err)
	}
	if r.sampler == nil {
		s, err := sampling.NewCentralizedStrategy(sampling.WithDaemonAddress(daemon.TCP), sampling.WithLogger(r.logger))
		if err != nil {
			return nil, fmt.Errorf("xray: %w", err)
		}
		r.sampler, r.ownSampler = s, s
	}
	dest, err := resolveExporters(cfg.Exporters, getenv)
	if err != nil {
		return nil, err
	}
	var otlpCfg OTLPConfig
	if dest.otlp {
		if otlpCfg, err = otlpFromEnv(cfg.OTLP, getenv); err != nil {
			return nil, err
		}
	}
	var envs []*Environment
	r.origin, r.pluginFields, envs = r.detectEnvironment(cfg.Plugins, cfg.PluginTimeout)
	switch {
	case r.streamingThreshold == 0:
		r.streamingThreshold = DefaultStreamingThreshold
	case r.streamingThreshold < 0:
		r.streamingThreshold = 0
	}
	switch {
	case r.maxStackDepth == 0:
		r.maxStackDepth = DefaultMaxStackDepth
	case r.maxStackDepth < 0:
		r.maxStackDepth = 0
	}
	r.emitter = cfg.Emitter
	switch {
	case !dest.xray:
		r.emitter, r.noDocs = DiscardEmitter{}, true
	case r.emitter == nil:
		r.udp = NewUDPEmitter(daemon.UDP, r.logger)
		r.udp.SetSynchronous(cfg.SyncSend || inLambda())
		r.emitter = r.udp
	}
	if dest.otlp {
		res := otlpResource(cfg.ServiceVersion, r.origin, envs, otlpCfg.ResourceAttributes)
		r.otlp = newOTLPExporter(otlpCfg, res, r.logger)
	}
	r.workingDir, _ = os.Getwd()

	var b []byte
	b = append(b, `"sdk":`...)
	b = jsonx.String(b, SDKName)
	b = append(b, `,"sdk_version":`...)
	b = jsonx.String(b, SDKVersion)
	r.sdkFields = b
	b = nil
	b = append(b, `"service":{`...)
	if cfg.ServiceVersion != "" {
		b = append(b, `"version":`...)
		b = jsonx.String(b, cfg.ServiceVersion)
		b = append(b, ',')
	}
	b = append(b, `"runtime":"go","runtime_version":`...)
	b = jsonx.String(b, runtime.Version())
	b = append(b, '}')
	r.serviceFields = b
	return r, nil
}

var defaultRecorder atomic.Pointer[Recorder]
var defaultInit sync.Mutex

// Default returns the recorder used by the package-level functions, making
// it from the environment on first use.
func Default() *Recorder {
	if r := defaultRecorder.Load(); r != nil {
		return r
	}
	defaultInit.Lock()
	defer defaultInit.Unlock()
	if r := defaultRecorder.Load(); r != nil {
		return r
	}
	r, err := New(Config{})
	if err != nil {
		// A bad environment variable: report it and record with the
		// built-in defaults rather than break the program.
		slog.Default().Error("xray: configuration from the environment", "err", err)
		r, _ = newRecorder(Config{}, func(string) string { return "" })
	}
	defaultRecorder.Store(r)
	return r
}

// Configure replaces the default recorder with one made from cfg and shuts
// the one it replaces down (see Close): what that recorder had queued is
// sent, its sampling pollers stop, and segments begun with it and closed
// afterwards are dropped. Call it once, when the program starts.
func Configure(cfg Config) error {
	r, err := New(cfg)
	if err != nil {
		return err
	}
	SetDefault(r)
	return nil
}

// SetDefault makes r the recorder of the package-level functions and shuts
// the one it replaces down, as Configure does. A nil r is ignored.
func SetDefault(r *Recorder) {
	if r == nil {
		return
	}
	defaultInit.Lock()
	old := defaultRecorder.Swap(r)
	defaultInit.Unlock()
	if old != nil && old != r {
		ctx, cancel := context.WithTimeout(context.Background(), replacedShutdownTimeout)
		defer cancel()
		if err := old.Close(ctx); err != nil {
			old.logger.Warn("xray: shutting down the replaced default recorder", "err", err)
		}
	}
}

// replacedShutdownTimeout bounds how long Configure and SetDefault wait for
// the replaced recorder to send what it has.
const replacedShutdownTimeout = 2 * time.Second

// Emitter returns the recorder's emitter, nil for a disabled or zero
// Recorder.
func (r *Recorder) Emitter() Emitter { return r.emitter }

// OTLP returns the recorder's OTLP exporter, or nil when it does not
// export over OTLP.
func (r *Recorder) OTLP() *OTLPExporter {
	if r == nil {
		return nil
	}
	return r.otlp
}

// Flush waits until every document of the segments closed so far has been
// handed to the network, or ctx is done. Call it before a short-lived
// program (a Lambda handler, a CLI) returns.
func (r *Recorder) Flush(ctx context.Context) error {
	if r == nil || r.disabled || r.emitter == nil {
		return nil
	}
	err := r.emitter.Flush(ctx)
	if r.otlp != nil {
		err = errors.Join(err, r.otlp.Flush(ctx))
	}
	return err
}

// Close flushes and stops the recorder's emitter. Segments closed after
// Close are dropped.
func (r *Recorder) Close(ctx context.Context) error {
	var err error
	if r == nil {
		return nil
	}
	r.closeOnce.Do(func() {
		if r.disabled || r.emitter == nil {
			return
		}
		if r.ownSampler != nil {
			r.ownSampler.Close()
		}
		err = r.emitter.Shutdown(ctx)
		if r.otlp != nil {
			err = errors.Join(err, r.otlp.Shutdown(ctx))
		}
	})
	return err
}

// SegmentOption configures BeginSegment. Options work on a copy of the
// settings (not a pointer), so that BeginSegment's settings stay on the
// stack.
type SegmentOption func(segmentOptions) segmentOptions

type segmentOptions struct {
	header     *header.Header
	request    sampling.Request
	hasRequest bool
}

// WithTraceHeader continues the trace of an incoming X-Amzn-Trace-Id
// header: its Root becomes the trace ID, its Parent the segment's parent
// and its Sampled=1 or Sampled=0 the sampling decision. With Sampled=? or
// no decision, the recorder's strategy decides. A header read from a W3C
// traceparent (header.FromTraceParent, header.Extract) works the same; its
// tracestate and the header's other pairs are passed on by the segment's
// calls (Segment.DownstreamHeader, Segment.TraceState).
func WithTraceHeader(h *header.Header) SegmentOption {
	return func(o segmentOptions) segmentOptions { o.header = h; return o }
}

// WithSamplingRequest gives the sampling strategy the request's host,
// method and path, so rules by URL apply.
func WithSamplingRequest(r sampling.Request) SegmentOption {
	return func(o segmentOptions) segmentOptions { o.request, o.hasRequest = r, true; return o }
}

// BeginSegment begins a segment with the default recorder.
// See (*Recorder).BeginSegment.
func BeginSegment(ctx context.Context, name string, opts ...SegmentOption) (context.Context, *Segment) {
	return Default().BeginSegment(ctx, name, opts...)
}

// BeginSegment begins a segment, the record of the work one service does
// for one request, and returns a context carrying it. The sampling strategy
// (or an upstream decision given WithTraceHeader) decides whether it is
// recorded; an unsampled segment records nothing but still has a trace ID
// to propagate. Close it when the work is done. AWS_XRAY_TRACING_NAME, when
// set, replaces name.
func (r *Recorder) BeginSegment(ctx context.Context, name string, opts ...SegmentOption) (context.Context, *Segment) {
	if ctx == nil {
		ctx = context.Background()
	}
	if r == nil || r.disabled || r.sampler == nil {
		// Disabled, or a zero Recorder (not made by New).
		return ctx, nil
	}
	var o segmentOptions
	for _, opt := range opts {
		o = opt(o)
	}
	if r.tracingName != "" {
		name = r.tracingName
	}
	now := nowNano()
	var (
		tid     traceID
		parent  entityID
		prop    *header.Header
		sampled bool
		decided bool
		rule    string
	)
	if h := o.header; h != nil && header.ValidTraceID(h.TraceID) {
		tid = parseTraceID(h.TraceID)
		if header.ValidEntityID(h.ParentID) {
			parent = parseEntityID(h.ParentID)
		}
		prop = propagated(h)
		switch h.SamplingDecision {
		case header.Sampled:
			sampled, decided = true, true
		case header.NotSampled:
			decided = true
		}
	} else {
		tid = newTraceID(now)
	}
	name = sanitizeName(name)
	if !decided {
		req := o.request
		if req.ServiceName == "" {
			req.ServiceName = name
		}
		if req.ServiceType == "" {
			req.ServiceType = r.origin
		}
		d := r.sampler.ShouldTrace(req)
		sampled, rule = d.Sample, d.Rule
	}
	var c context.Context
	var s *Segment
	if sampled {
		sc := &sampledCtx{entityCtx: entityCtx{Context: ctx}}
		s = &sc.seg
		s.st = &sc.st
		s.st.name, s.st.start, s.st.parentID, s.st.rule = name, now, parent, rule
		c = sc
	} else {
		ec := &entityCtx{Context: ctx}
		s = &ec.seg
		c = ec
	}
	s.root, s.rec = s, r
	s.id = newEntityID()
	s.traceID = tid
	s.prop = prop
	return c, s
}

// BeginSubsegment begins a subsegment of the segment or subsegment in ctx.
// Without one, the context-missing strategy is told and the returned
// subsegment is nil (its methods do nothing). In an unsampled segment it
// returns ctx and nil at no cost.
//
// In an AWS Lambda function, a ctx without a segment has the invocation's
// facade as parent (see ParentSegment), so subsegments need no setup.
func BeginSubsegment(ctx context.Context, name string) (context.Context, *Segment) {
	if parent := GetSegment(ctx); parent != nil {
		return parent.beginSubsegment(ctx, name, "")
	}
	return Default().BeginSubsegment(ctx, name)
}

// BeginSubsegment is the package-level BeginSubsegment, with r's
// context-missing strategy.
func (r *Recorder) BeginSubsegment(ctx context.Context, name string) (context.Context, *Segment) {
	if ctx == nil {
		ctx = context.Background()
	}
	parent := GetSegment(ctx)
	if parent == nil {
		if ctx, parent = r.lambdaFacade(ctx); parent == nil {
			r.ContextMissing("BeginSubsegment " + name)
			return ctx, nil
		}
	}
	return parent.beginSubsegment(ctx, name, "")
}

// BeginSubsegment begins a subsegment of s. ctx should be a context that
// carries s (or one derived from it); the returned context carries the
// subsegment.
func (s *Segment) BeginSubsegment(ctx context.Context, name string) (context.Context, *Segment) {
	if ctx == nil {
		ctx = context.Background()
	}
	if !s.active() {
		return ctx, nil
	}
	return s.beginSubsegment(ctx, name, "")
}

func (parent *Segment) beginSubsegment(ctx context.Context, name, namespace string) (context.Context, *Segment) {
	if parent.st == nil {
		return ctx, nil
	}
	root := parent.root
	c := &sampledCtx{entityCtx: entityCtx{Context: ctx}}
	s := &c.seg
	s.st = &c.st
	s.root, s.parent, s.rec = root, parent, parent.rec
	s.id = newEntityID()
	s.st.name = sanitizeName(name)
	s.st.namespace = namespace
	s.st.start = nowNano()
	root.st.mu.Lock()
	if !parent.st.emitted {
		parent.st.children = append(parent.st.children, s)
	}
	root.st.mu.Unlock()
	return c, s
}

// ContextMissing tells r's context-missing strategy that what (such as
// "BeginSubsegment db") was called without a segment in its context.
// Integrations call it when they find no parent for the work they trace.
func (r *Recorder) ContextMissing(what string) {
	if r != nil && r.ctxMissing != nil && !r.disabled {
		r.ctxMissing.ContextMissing(what)
	}
}

// Capture runs fn in a new subsegment of the segment in ctx and returns
// fn's error, which is recorded on the subsegment. A panic in fn is
// recorded as a fault with its stack and then continues. Without a segment
// in ctx, fn still runs.
func Capture(ctx context.Context, name string, fn func(context.Context) error) (err error) {
	ctx, sub := BeginSubsegment(ctx, name)
	return sub.run(ctx, fn)
}

// Capture is the package-level Capture with r's context-missing strategy.
func (r *Recorder) Capture(ctx context.Context, name string, fn func(context.Context) error) error {
	ctx, sub := r.BeginSubsegment(ctx, name)
	return sub.run(ctx, fn)
}

// CaptureAsync runs fn in a new goroutine, in a subsegment begun before the
// goroutine starts.
func CaptureAsync(ctx context.Context, name string, fn func(context.Context) error) {
	ctx, sub := BeginSubsegment(ctx, name)
	go sub.run(ctx, fn)
}

// CaptureAsync is the package-level CaptureAsync with r's context-missing
// strategy.
func (r *Recorder) CaptureAsync(ctx context.Context, name string, fn func(context.Context) error) {
	ctx, sub := r.BeginSubsegment(ctx, name)
	go sub.run(ctx, fn)
}

func (s *Segment) run(ctx context.Context, fn func(context.Context) error) (err error) {
	defer s.CloseOnPanic()
	err = fn(ctx)
	s.Close(err)
	return err
}

// Flush flushes the default recorder. See (*Recorder).Flush.
func Flush(ctx context.Context) error { return Default().Flush(ctx) }

// AddAnnotation adds an annotation to the segment or subsegment in ctx.
// See (*Segment).AddAnnotation.
func AddAnnotation(ctx context.Context, key string, value any) error {
	s := GetSegment(ctx)
	if s == nil {
		Default().ContextMissing("AddAnnotation " + key)
		return nil
	}
	return s.AddAnnotation(key, value)
}

// AddMetadata adds metadata to the default namespace of the segment or
// subsegment in ctx. See (*Segment).AddMetadata.
func AddMetadata(ctx context.Context, key string, value any) error {
	return AddMetadataToNamespace(ctx, "default", key, value)
}

// AddMetadataToNamespace adds metadata to a namespace of the segment or
// subsegment in ctx.
func AddMetadataToNamespace(ctx context.Context, namespace, key string, value any) error {
	s := GetSegment(ctx)
	if s == nil {
		Default().ContextMissing("AddMetadata " + key)
		return nil
	}
	return s.AddMetadataToNamespace(namespace, key, value)
}

// AddError records err on the segment or subsegment in ctx and sets its
// fault flag. See (*Segment).AddError.
func AddError(ctx context.Context, err error) error {
	s := GetSegment(ctx)
	if s == nil {
		Default().ContextMissing("AddError")
		return nil
	}
	return s.AddError(err)
}

// BeginFacadeSegment returns a context carrying a facade: a stand-in for
// a segment that another party records, such as the one AWS Lambda
// records for each invocation. The facade takes its trace ID, its ID and
// its sampling decision from h (Root, Parent, Sampled); it is never sent
// and closing it does nothing. Its subsegments are sent each on its own as
// soon as it closes, with the facade as parent, so that nothing waits in
// memory when the process is frozen between invocations. Without a valid
// Root and Parent in h it returns ctx and nil.
func (r *Recorder) BeginFacadeSegment(ctx context.Context, h *header.Header) (context.Context, *Segment) {
	if ctx == nil {
		ctx = context.Background()
	}
	if r == nil || r.disabled || r.emitter == nil || h == nil || !header.ValidTraceID(h.TraceID) || !header.ValidEntityID(h.ParentID) {
		return ctx, nil
	}
	var c context.Context
	var s *Segment
	if h.SamplingDecision == header.Sampled {
		sc := &sampledCtx{entityCtx: entityCtx{Context: ctx}}
		s = &sc.seg
		s.st = &sc.st
		s.st.name, s.st.start = "facade", nowNano()
		s.st.closed, s.st.emitted = true, true
		c = sc
	} else {
		ec := &entityCtx{Context: ctx}
		s = &ec.seg
		c = ec
	}
	s.root, s.rec = s, r
	s.id = parseEntityID(h.ParentID)
	s.traceID = parseTraceID(h.TraceID)
	s.prop = propagated(h)
	return c, s
}
