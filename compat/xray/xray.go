// Package xray is aws-xray-sdk-go's xray package on OpenXRay: the same
// names, signatures and behaviour, recording through the core (package
// github.com/openxray/xray). Replacing the import prefix
// github.com/aws/aws-xray-sdk-go/v2 (or github.com/aws/aws-xray-sdk-go) with
// github.com/openxray/xray/compat is the whole migration for code that uses
// the SDK's functions, types, constants and options; code that reads or
// writes Segment fields other than the identity ones is rewritten by
// `xray migrate` (go run github.com/openxray/xray/cmd/xray migrate).
//
// # Deliberate differences
//
//   - SQL statements are recorded with their literals replaced (sanitized),
//     not left out; DSNs never carry passwords into the sql block.
//   - A segment too large for one UDP datagram is split into several
//     documents instead of being dropped.
//   - Emitter implementations receive each finished document as a Segment
//     whose MarshalJSON returns it. Documents leave as their segment
//     closes, as in aws-xray-sdk-go (xray.Config.SyncSend of the core).
//   - Configure starts from the defaults, not from the previous
//     configuration, and shuts the previous default recorder down.
//   - The default sampling strategy is centralized sampling through the
//     daemon, as in aws-xray-sdk-go, implemented by the core.
//   - GetSegment returns a new view of the segment on each call (see
//     Segment); Segment has only its identity fields.
//   - BeginSubsegmentWithoutSampling records the subsegment under its
//     segment's decision. (aws-xray-sdk-go makes it a dummy that is never
//     closed in its segment's count, which holds the segment back until
//     its context is cancelled.)
//   - StreamingStrategy: only DefaultStreamingStrategy's
//     MaxSubsegmentCount is used (as Config.StreamingThreshold of the
//     core); ExceptionFormattingStrategy: only DefaultFormattingStrategy's
//     FrameCount (as MaxStackDepth).
//   - Not provided: ContextKey (the core's context key is its own),
//     fasthttp instrumentation, NewClientTrace and HTTPSubsegments (use
//     xrayhttp.WithTimings), the HTTPData/SQLData/... field types.
package xray

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/compat/internal/config"
	"github.com/openxray/xray/compat/strategy/ctxmissing"
	"github.com/openxray/xray/compat/strategy/exception"
	"github.com/openxray/xray/compat/strategy/sampling"
	"github.com/openxray/xray/compat/xraylog"
)

// Constants of aws-xray-sdk-go.
const (
	// Header is the line that starts every datagram sent to the daemon.
	Header = xray.DaemonHeader
	// LambdaTraceHeaderKey is the context key of a Lambda invocation's
	// trace header.
	LambdaTraceHeaderKey string = xray.LambdaTraceHeaderKey
	// LambdaTaskRootKey is the environment variable set in AWS Lambda.
	LambdaTaskRootKey string = "LAMBDA_TASK_ROOT"
	// TraceIDHeaderKey is the trace header's name in lower case, as gRPC
	// metadata has it.
	TraceIDHeaderKey = "x-amzn-trace-id"
	// SDKType is the SDK's name in segments.
	SDKType = xray.SDKName
	// SDKVersion is the SDK's version.
	SDKVersion = xray.SDKVersion
)

// ErrRetrieveSegment is returned when a context holds no segment.
var ErrRetrieveSegment = errors.New("unable to retrieve segment")

// Config configures the recorder, as in aws-xray-sdk-go. Zero fields take
// the defaults (the AWS_XRAY_* environment variables take precedence).
type Config struct {
	DaemonAddr                  string
	ServiceVersion              string
	Emitter                     Emitter
	SamplingStrategy            sampling.Strategy
	StreamingStrategy           StreamingStrategy
	ExceptionFormattingStrategy exception.FormattingStrategy
	ContextMissingStrategy      ctxmissing.Strategy

	// LogLevel is the least level of the SDK's own messages that are
	// logged: "debug", "info" (the default), "warn" or "error".
	LogLevel string
	// LogFormat is accepted for compatibility; messages are formatted by
	// the logger (SetLogger, or log/slog's default).
	LogFormat string

	rec *xray.Recorder // made by ContextWithConfig
}

// core returns c as the core's configuration.
func (c Config) core() xray.Config {
	out := xray.Config{
		DaemonAddr:       c.DaemonAddr,
		ServiceVersion:   c.ServiceVersion,
		SamplingStrategy: sampling.Core(c.SamplingStrategy),
	}
	if c.ContextMissingStrategy != nil {
		out.ContextMissingStrategy = c.ContextMissingStrategy
	}
	if s, ok := c.StreamingStrategy.(*DefaultStreamingStrategy); ok && s != nil {
		out.StreamingThreshold = int(s.MaxSubsegmentCount)
	}
	if f, ok := c.ExceptionFormattingStrategy.(*exception.DefaultFormattingStrategy); ok && f != nil && f.FrameCount > 0 {
		out.MaxStackDepth = f.FrameCount
	}
	switch e := c.Emitter.(type) {
	case nil:
	case *DefaultEmitter:
		out.Emitter = e.udp
	default:
		out.Emitter = emitterAdapter{e}
	}
	if c.LogLevel != "" {
		l := config.Logger()
		out.Logger = slog.New(levelFilter{Handler: l.Handler(), min: slogLevel(xraylog.ParseLevel(c.LogLevel))})
	}
	return out
}

// Configure makes the default recorder from c.
func Configure(c Config) error { return config.Set(c.core()) }

// RecorderContextKey is the context key of a configuration given by
// ContextWithConfig.
type RecorderContextKey struct{}

// ContextWithConfig returns a context whose segments are recorded by a
// recorder made from c, for programs that run several.
func ContextWithConfig(ctx context.Context, c Config) (context.Context, error) {
	rec, err := xray.New(config.Build(c.core()))
	if err != nil {
		return ctx, err
	}
	c.rec = rec
	return context.WithValue(ctx, RecorderContextKey{}, &c), nil
}

// GetRecorder returns the configuration given to ContextWithConfig, or nil.
func GetRecorder(ctx context.Context) *Config {
	if ctx == nil {
		return nil
	}
	c, _ := ctx.Value(RecorderContextKey{}).(*Config)
	return c
}

// recorderOf returns the recorder of ctx's configuration, or the default.
func recorderOf(ctx context.Context) *xray.Recorder {
	if c := GetRecorder(ctx); c != nil && c.rec != nil {
		return c.rec
	}
	config.Ensure()
	return xray.Default()
}

// SetLogger sends the SDK's messages to l.
func SetLogger(l xraylog.Logger) {
	if l == nil {
		l = xraylog.NullLogger
	}
	if err := config.SetLogger(xraylog.Slog(l, xraylog.LogLevelDebug)); err != nil {
		config.Logger().Error("xray: SetLogger", "err", err)
	}
}

// SdkDisabled reports whether AWS_XRAY_SDK_DISABLED turns the SDK off.
func SdkDisabled() bool {
	b, err := strconv.ParseBool(os.Getenv("AWS_XRAY_SDK_DISABLED"))
	return err == nil && b
}

// AddAnnotation adds an annotation to the segment in ctx.
func AddAnnotation(ctx context.Context, key string, value interface{}) error {
	return xray.AddAnnotation(ctx, key, value)
}

// AddMetadata adds metadata to the segment in ctx.
func AddMetadata(ctx context.Context, key string, value interface{}) error {
	return xray.AddMetadata(ctx, key, value)
}

// AddMetadataToNamespace adds metadata to a namespace of the segment in ctx.
func AddMetadataToNamespace(ctx context.Context, namespace string, key string, value interface{}) error {
	return xray.AddMetadataToNamespace(ctx, namespace, key, value)
}

// AddError records err on the segment in ctx.
func AddError(ctx context.Context, err error) error { return xray.AddError(ctx, err) }

// Capture runs fn in a subsegment named name.
func Capture(ctx context.Context, name string, fn func(context.Context) error) (err error) {
	return recorderOf(ctx).Capture(ctx, name, fn)
}

// CaptureAsync runs fn in a goroutine, in a subsegment named name.
func CaptureAsync(ctx context.Context, name string, fn func(context.Context) error) {
	recorderOf(ctx).CaptureAsync(ctx, name, fn)
}

// DetachContext returns a context with ctx's segment and no cancellation.
func DetachContext(ctx context.Context) context.Context { return xray.DetachContext(ctx) }

// TraceID returns the trace ID of the segment in ctx, or "".
func TraceID(ctx context.Context) string { return xray.TraceID(ctx) }

// RequestWasTraced reports whether the segment in ctx continued a trace
// header that named a parent.
func RequestWasTraced(ctx context.Context) bool {
	seg := GetSegment(ctx)
	return seg != nil && seg.RequestWasTraced
}

// NewTraceID returns a new trace ID.
func NewTraceID() string {
	var b [12]byte
	rand.Read(b[:])
	return fmt.Sprintf("1-%08x-%s", time.Now().Unix(), hex.EncodeToString(b[:]))
}

// NewSegmentID returns a new segment ID.
func NewSegmentID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Emitter receives each finished segment document, as a Segment whose
// MarshalJSON returns the document.
type Emitter interface {
	Emit(seg *Segment)
	RefreshEmitterWithAddress(raddr *net.UDPAddr)
}

// emitterAdapter hands the core's documents to an Emitter of this package.
type emitterAdapter struct{ e Emitter }

func (a emitterAdapter) Emit(doc []byte) {
	var id struct {
		TraceID  string `json:"trace_id"`
		ID       string `json:"id"`
		ParentID string `json:"parent_id"`
	}
	json.Unmarshal(doc, &id)
	seg := &Segment{TraceID: id.TraceID, ID: id.ID, ParentID: id.ParentID, Sampled: true, doc: doc}
	seg.ParentSegment = seg
	a.e.Emit(seg)
}

func (a emitterAdapter) Flush(context.Context) error    { return nil }
func (a emitterAdapter) Shutdown(context.Context) error { return nil }

// DefaultEmitter sends documents to the daemon over UDP, through the core's
// xray.UDPEmitter.
type DefaultEmitter struct {
	udp *xray.UDPEmitter
}

// NewDefaultEmitter returns an emitter to raddr.
func NewDefaultEmitter(raddr *net.UDPAddr) (*DefaultEmitter, error) {
	if raddr == nil {
		return nil, errors.New("xray: NewDefaultEmitter: nil address")
	}
	udp := xray.NewUDPEmitter(raddr.String(), config.Logger())
	udp.SetSynchronous(true)
	return &DefaultEmitter{udp: udp}, nil
}

// Emit sends seg's document.
func (de *DefaultEmitter) Emit(seg *Segment) {
	if seg == nil || seg.doc == nil {
		return
	}
	de.udp.Emit(seg.doc)
}

// RefreshEmitterWithAddress is accepted for compatibility: the address is
// fixed when the emitter is made.
func (de *DefaultEmitter) RefreshEmitterWithAddress(raddr *net.UDPAddr) {}

// StreamingStrategy decides when subsegments are sent ahead of their
// segment. Only DefaultStreamingStrategy is used; see the package
// documentation.
type StreamingStrategy interface {
	RequiresStreaming(seg *Segment) bool
	StreamCompletedSubsegments(seg *Segment) [][]byte
}

// DefaultStreamingStrategy sends a segment's closed subsegments ahead of it
// once it holds more than MaxSubsegmentCount.
type DefaultStreamingStrategy struct {
	MaxSubsegmentCount uint32
}

// NewDefaultStreamingStrategy returns the strategy with a threshold of 20.
func NewDefaultStreamingStrategy() (*DefaultStreamingStrategy, error) {
	return &DefaultStreamingStrategy{MaxSubsegmentCount: xray.DefaultStreamingThreshold}, nil
}

// NewDefaultStreamingStrategyWithMaxSubsegmentCount returns the strategy
// with the given threshold, which must be positive.
func NewDefaultStreamingStrategyWithMaxSubsegmentCount(maxSubsegmentCount int) (*DefaultStreamingStrategy, error) {
	if maxSubsegmentCount <= 0 {
		return nil, errors.New("maxSubsegmentCount must be a non-negative integer")
	}
	return &DefaultStreamingStrategy{MaxSubsegmentCount: uint32(maxSubsegmentCount)}, nil
}

// RequiresStreaming reports false: the core streams by itself.
func (s *DefaultStreamingStrategy) RequiresStreaming(seg *Segment) bool { return false }

// StreamCompletedSubsegments returns nil: the core streams by itself.
func (s *DefaultStreamingStrategy) StreamCompletedSubsegments(seg *Segment) [][]byte { return nil }

// levelFilter drops records under min.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

func slogLevel(l xraylog.LogLevel) slog.Level {
	switch l {
	case xraylog.LogLevelDebug:
		return slog.LevelDebug
	case xraylog.LogLevelWarn:
		return slog.LevelWarn
	case xraylog.LogLevelError:
		return slog.LevelError
	}
	return slog.LevelInfo
}
