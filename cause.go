package xray

import (
	"fmt"
	"reflect"
	"runtime"
)

// cause is the cause block of an entity: the exceptions recorded on it.
type cause struct {
	exceptions []exception
	skipped    int // exceptions not recorded past maxExceptions
}

type exception struct {
	id      entityID
	typ     string
	message string
	remote  bool
	cause   entityID // the exception that caused this one, if any
	stack   []uintptr
	// truncated is the number of frames left out past MaxStackDepth
	// (at least; frames beyond 64 more are not counted).
	truncated int
}

// maxErrorChain bounds how far wrapped errors are followed, against cycles.
const maxErrorChain = 16

// addCauseLocked records err and the errors it wraps. skip is the number of
// frames between the user's call and runtime.Callers. Holds root.st.mu.
func (s *Segment) addCauseLocked(err error, remote bool, skip int) {
	x := s.ext()
	if x.cause == nil {
		x.cause = &cause{}
	}
	var stack []uintptr
	truncated := 0
	if depth := s.rec.maxStackDepth; depth > 0 {
		pcs := make([]uintptr, depth+64)
		n := runtime.Callers(skip+1, pcs)
		if n > depth {
			n, truncated = depth, n-depth
		}
		stack = pcs[:n:n]
	}
	x.cause.add(err, remote, stack, truncated, 0)
}

// add appends err (with stack) and the errors it wraps, and returns the
// ID of err's exception, or a zero ID if it was not recorded.
func (c *cause) add(err error, remote bool, stack []uintptr, truncated, depth int) entityID {
	if len(c.exceptions) >= maxExceptions || depth > maxErrorChain {
		c.skipped++
		return entityID{}
	}
	i := len(c.exceptions)
	c.exceptions = append(c.exceptions, exception{
		id:        newEntityID(),
		typ:       errorType(err),
		message:   err.Error(),
		remote:    remote,
		stack:     stack,
		truncated: truncated,
	})
	var next entityID
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if inner := u.Unwrap(); inner != nil {
			next = c.add(inner, remote, nil, 0, depth+1)
		}
	case interface{ Unwrap() []error }:
		for j, inner := range u.Unwrap() {
			if inner == nil {
				continue
			}
			id := c.add(inner, remote, nil, 0, depth+1)
			if j == 0 || next.isZero() {
				next = id
			}
		}
	}
	c.exceptions[i].cause = next
	return c.exceptions[i].id
}

func errorType(err error) string {
	if t, ok := err.(interface{ ErrorType() string }); ok {
		return t.ErrorType()
	}
	return reflect.TypeOf(err).String()
}

// panicError is a recovered panic value recorded as an exception.
type panicError struct{ v any }

func (p panicError) Error() string     { return fmt.Sprint(p.v) }
func (p panicError) ErrorType() string { return "panic" }
func (p panicError) Unwrap() error {
	if err, ok := p.v.(error); ok {
		return err
	}
	return nil
}

// RecordPanic records a recovered panic value as a fault, with the stack of
// the panic. Call it from the deferred function that recovered.
func (s *Segment) RecordPanic(v any) {
	if !s.active() {
		return
	}
	s.lock()
	s.st.flags |= flagFault
	s.addCauseLocked(panicError{v}, false, 3)
	s.unlock()
}
