package xray

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// ContextMissingStrategy is told when code asks to record into a context
// that carries no segment, such as BeginSubsegment outside a request.
// The call still goes on, untraced.
type ContextMissingStrategy interface {
	ContextMissing(v any)
}

// Values of AWS_XRAY_CONTEXT_MISSING.
const (
	ContextMissingLogError     = "LOG_ERROR"
	ContextMissingRuntimeError = "RUNTIME_ERROR"
	ContextMissingIgnoreError  = "IGNORE_ERROR"
)

// NewLogErrorStrategy returns the default strategy: it logs an error once
// per call site, not once per call, so a loop outside any segment does not
// flood the log. A nil logger means slog.Default().
func NewLogErrorStrategy(logger *slog.Logger) ContextMissingStrategy {
	return &logErrorStrategy{logger: logger}
}

// NewRuntimeErrorStrategy returns a strategy that panics. Use it in tests to
// find code that runs outside a segment; never in production.
func NewRuntimeErrorStrategy() ContextMissingStrategy { return runtimeErrorStrategy{} }

// NewIgnoreErrorStrategy returns a strategy that does nothing.
func NewIgnoreErrorStrategy() ContextMissingStrategy { return ignoreErrorStrategy{} }

type runtimeErrorStrategy struct{}

func (runtimeErrorStrategy) ContextMissing(v any) {
	panic(fmt.Sprintf("xray: context missing: %v", v))
}

type ignoreErrorStrategy struct{}

func (ignoreErrorStrategy) ContextMissing(any) {}

// maxCallSites bounds the memory of the log strategy.
const maxCallSites = 4096

type logErrorStrategy struct {
	logger *slog.Logger
	seen   sync.Map // [callSiteDepth]uintptr → struct{}
	count  atomic.Int64
}

const callSiteDepth = 16

func (s *logErrorStrategy) ContextMissing(v any) {
	// The stack's program counters identify the call site without
	// resolving symbols; only the first occurrence is resolved and logged.
	var pcs [callSiteDepth]uintptr
	runtime.Callers(2, pcs[:])
	if _, ok := s.seen.Load(pcs); ok {
		return
	}
	if s.count.Load() >= maxCallSites {
		return
	}
	if _, loaded := s.seen.LoadOrStore(pcs, struct{}{}); loaded {
		return
	}
	s.count.Add(1)
	logger := s.logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.LogAttrs(context.Background(), slog.LevelError, "xray: context missing: no segment in the context; the call runs untraced (logged once per call site)",
		slog.Any("detail", v), slog.String("at", callerOutside(pcs[:])))
}

// callerOutside returns the first frame that is neither in this module's
// packages nor in the standard library: the user's call site.
func callerOutside(pcs []uintptr) string {
	frames := runtime.CallersFrames(pcs)
	var last runtime.Frame
	for {
		f, more := frames.Next()
		if f.Function != "" {
			last = f
			if !sdkFunction(f.Function) && !stdFunction(f.Function) {
				return fmt.Sprintf("%s (%s:%d)", f.Function, f.File, f.Line)
			}
		}
		if !more {
			break
		}
	}
	return fmt.Sprintf("%s (%s:%d)", last.Function, last.File, last.Line)
}

func contextMissingStrategy(name string, logger *slog.Logger) (ContextMissingStrategy, error) {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "", ContextMissingLogError:
		return NewLogErrorStrategy(logger), nil
	case ContextMissingRuntimeError:
		return NewRuntimeErrorStrategy(), nil
	case ContextMissingIgnoreError:
		return NewIgnoreErrorStrategy(), nil
	}
	return nil, fmt.Errorf("xray: AWS_XRAY_CONTEXT_MISSING=%q: want LOG_ERROR, RUNTIME_ERROR or IGNORE_ERROR", name)
}

// sdkFunction reports whether a function (as runtime.Frame names it) belongs
// to this module's packages, not counting their tests.
func sdkFunction(fn string) bool {
	const module = "github.com/openxray/xray"
	if !strings.HasPrefix(fn, module) || len(fn) == len(module) {
		return false
	}
	if c := fn[len(module)]; c != '.' && c != '/' {
		return false
	}
	// The repository's examples and interop tests are users' code.
	rest := fn[len(module):]
	if strings.HasPrefix(rest, "/examples/") || strings.HasPrefix(rest, "/interop.") || strings.HasPrefix(rest, "/interop/") {
		return false
	}
	return !strings.Contains(fn, "_test.")
}

// stdFunction reports whether a function belongs to the standard library,
// whose import paths have no dot in their first element.
func stdFunction(fn string) bool {
	if strings.HasPrefix(fn, "main.") {
		return false
	}
	first := fn
	if i := strings.IndexByte(fn, '/'); i >= 0 {
		first = fn[:i]
	} else if i := strings.IndexByte(fn, '.'); i >= 0 {
		first = fn[:i]
	}
	return !strings.Contains(first, ".")
}
