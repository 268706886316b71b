// Package ctxmissing is aws-xray-sdk-go's context-missing strategies on
// OpenXRay. A Strategy here is also an xray.ContextMissingStrategy of the
// core: the method is the same.
package ctxmissing

import "github.com/openxray/xray/compat/internal/config"

// The names of the strategies, as AWS_XRAY_CONTEXT_MISSING takes them.
var (
	RuntimeErrorStrategy = "RUNTIME_ERROR"
	LogErrorStrategy     = "LOG_ERROR"
	IgnoreErrorStrategy  = "IGNORE_ERROR"
)

// Strategy is told when a call finds no segment in its context.
type Strategy interface {
	ContextMissing(v interface{})
}

// DefaultRuntimeErrorStrategy panics.
type DefaultRuntimeErrorStrategy struct{}

// DefaultLogErrorStrategy logs an error.
type DefaultLogErrorStrategy struct{}

// DefaultIgnoreErrorStrategy does nothing.
type DefaultIgnoreErrorStrategy struct{}

// NewDefaultRuntimeErrorStrategy returns the strategy that panics.
func NewDefaultRuntimeErrorStrategy() *DefaultRuntimeErrorStrategy {
	return &DefaultRuntimeErrorStrategy{}
}

// NewDefaultLogErrorStrategy returns the strategy that logs.
func NewDefaultLogErrorStrategy() *DefaultLogErrorStrategy { return &DefaultLogErrorStrategy{} }

// NewDefaultIgnoreErrorStrategy returns the strategy that does nothing.
func NewDefaultIgnoreErrorStrategy() *DefaultIgnoreErrorStrategy {
	return &DefaultIgnoreErrorStrategy{}
}

// ContextMissing panics with v.
func (dr *DefaultRuntimeErrorStrategy) ContextMissing(v interface{}) {
	panic(v)
}

// ContextMissing logs v at level error, through the logger of
// xray.SetLogger (of this tree) when one is set.
func (dl *DefaultLogErrorStrategy) ContextMissing(v interface{}) {
	config.Logger().Error("Suppressing AWS X-Ray context missing panic", "what", v)
}

// ContextMissing does nothing.
func (di *DefaultIgnoreErrorStrategy) ContextMissing(v interface{}) {}
