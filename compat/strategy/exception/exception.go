// Package exception is aws-xray-sdk-go's exception formatting on OpenXRay.
// The core records errors itself (type, message, remote flag and stack,
// with the depth of Config.MaxStackDepth); xray.Configure of this tree takes
// a DefaultFormattingStrategy's FrameCount as that depth. The types here
// keep programs that build XRayErrors or Exceptions compiling and working.
package exception

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
)

// FormattingStrategy turns errors and panics into exceptions.
type FormattingStrategy interface {
	Error(message string) *XRayError
	Errorf(formatString string, args ...interface{}) *XRayError
	Panic(message string) *XRayError
	Panicf(formatString string, args ...interface{}) *XRayError
	ExceptionFromError(err error) Exception
}

// Exception is one entry of a cause's exceptions.
type Exception struct {
	ID      string  `json:"id,omitempty"`
	Type    string  `json:"type,omitempty"`
	Message string  `json:"message,omitempty"`
	Stack   []Stack `json:"stack,omitempty"`
	Remote  bool    `json:"remote,omitempty"`
}

// Stack is one frame.
type Stack struct {
	Path  string `json:"path,omitempty"`
	Line  int    `json:"line,omitempty"`
	Label string `json:"label,omitempty"`
}

// StackTracer is an error that knows where it was made.
type StackTracer interface {
	StackTrace() []uintptr
}

// Error is an AWS SDK v1 style error.
type Error interface {
	error
	Code() string
	Message() string
	OrigErr() error
}

// RequestFailure is an Error of a request, with its status and ID.
type RequestFailure interface {
	Error
	StatusCode() int
	RequestID() string
}

// MultiError is several errors as one.
type MultiError []error

// Error lists the errors, one a line.
func (e MultiError) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return fmt.Sprintf("%d errors occurred:\n%s", len(e), strings.Join(msgs, "\n"))
}

// XRayError is an error with the stack where it was made.
type XRayError struct {
	Type    string
	Message string
	Stack   []uintptr
}

// Error returns the type and the message.
func (e *XRayError) Error() string { return e.Type + ": " + e.Message }

// StackTrace returns where the error was made.
func (e *XRayError) StackTrace() []uintptr { return e.Stack }

// DefaultFormattingStrategy records FrameCount frames (32 by default).
type DefaultFormattingStrategy struct {
	FrameCount int
}

// NewDefaultFormattingStrategy returns the strategy with 32 frames.
func NewDefaultFormattingStrategy() (*DefaultFormattingStrategy, error) {
	return &DefaultFormattingStrategy{FrameCount: 32}, nil
}

// NewDefaultFormattingStrategyWithDefinedErrorFrameCount returns the
// strategy with frameCount frames; it must be positive.
func NewDefaultFormattingStrategyWithDefinedErrorFrameCount(frameCount int) (*DefaultFormattingStrategy, error) {
	if frameCount <= 0 {
		return nil, errors.New("frameCount must be a positive integer")
	}
	return &DefaultFormattingStrategy{FrameCount: frameCount}, nil
}

func (s *DefaultFormattingStrategy) frames() int {
	if s == nil || s.FrameCount <= 0 {
		return 32
	}
	return s.FrameCount
}

func (s *DefaultFormattingStrategy) make(typ, msg string) *XRayError {
	pcs := make([]uintptr, s.frames())
	n := runtime.Callers(3, pcs)
	return &XRayError{Type: typ, Message: msg, Stack: pcs[:n]}
}

// Error returns an error of type "error".
func (s *DefaultFormattingStrategy) Error(message string) *XRayError {
	return s.make("error", message)
}

// Errorf returns an error of type "error" with a formatted message.
func (s *DefaultFormattingStrategy) Errorf(formatString string, args ...interface{}) *XRayError {
	return s.make("error", fmt.Sprintf(formatString, args...))
}

// Panic returns an error of type "panic".
func (s *DefaultFormattingStrategy) Panic(message string) *XRayError {
	return s.make("panic", message)
}

// Panicf returns an error of type "panic" with a formatted message.
func (s *DefaultFormattingStrategy) Panicf(formatString string, args ...interface{}) *XRayError {
	return s.make("panic", fmt.Sprintf(formatString, args...))
}

// ExceptionFromError describes err: its type, message and stack (the one
// it carries, or where this is called).
func (s *DefaultFormattingStrategy) ExceptionFromError(err error) Exception {
	if err == nil {
		return Exception{}
	}
	e := Exception{Type: reflect.TypeOf(err).String(), Message: err.Error()}
	var xe *XRayError
	if errors.As(err, &xe) {
		e.Type = xe.Type
	}
	var pcs []uintptr
	var st StackTracer
	if errors.As(err, &st) {
		pcs = st.StackTrace()
	} else {
		pcs = make([]uintptr, s.frames())
		pcs = pcs[:runtime.Callers(2, pcs)]
	}
	frames := runtime.CallersFrames(pcs)
	for len(e.Stack) < s.frames() {
		f, more := frames.Next()
		if f.Function != "" {
			e.Stack = append(e.Stack, Stack{Path: f.File, Line: f.Line, Label: f.Function})
		}
		if !more {
			break
		}
	}
	return e
}
