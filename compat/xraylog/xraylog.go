// Package xraylog is aws-xray-sdk-go's logging interface on OpenXRay. The
// SDK logs through log/slog; SetLogger in package xray (of this tree) puts a
// Logger behind it.
package xraylog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// LogLevel is the severity of a message.
type LogLevel int

// The levels.
const (
	LogLevelDebug LogLevel = iota + 1
	LogLevelInfo
	LogLevelWarn
	LogLevelError
)

// String returns the level's name in upper case.
func (ll LogLevel) String() string {
	switch ll {
	case LogLevelDebug:
		return "DEBUG"
	case LogLevelInfo:
		return "INFO"
	case LogLevelWarn:
		return "WARN"
	case LogLevelError:
		return "ERROR"
	}
	return fmt.Sprintf("UNKNOWN<%d>", int(ll))
}

// Logger receives the SDK's messages. msg is formatted only when its String
// method is called.
type Logger interface {
	Log(level LogLevel, msg fmt.Stringer)
}

// NullLogger drops every message.
var NullLogger = nullLogger{}

type nullLogger struct{}

func (nullLogger) Log(LogLevel, fmt.Stringer) {}

// NewDefaultLogger returns a Logger that writes messages of minLogLevel and
// above to w, one line each: time, [LEVEL], message.
func NewDefaultLogger(w io.Writer, minLogLevel LogLevel) Logger {
	return &defaultLogger{w: w, min: minLogLevel}
}

type defaultLogger struct {
	mu  sync.Mutex
	w   io.Writer
	min LogLevel
}

func (l *defaultLogger) Log(level LogLevel, msg fmt.Stringer) {
	if level < l.min {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s [%s] %s\n", time.Now().Format(time.RFC3339), level, msg)
}

// ParseLevel reads a level name as aws-xray-sdk-go's Config.LogLevel has
// it: "debug", "info", "warn" or "error" (default "info").
func ParseLevel(s string) LogLevel {
	switch s {
	case "debug", "trace":
		return LogLevelDebug
	case "warn":
		return LogLevelWarn
	case "error":
		return LogLevelError
	}
	return LogLevelInfo
}

// Slog returns a *slog.Logger that hands what the SDK logs (at min and
// above) to l.
func Slog(l Logger, min LogLevel) *slog.Logger {
	return slog.New(&handler{l: l, min: min})
}

type handler struct {
	l     Logger
	min   LogLevel
	attrs []slog.Attr
}

func level(l slog.Level) LogLevel {
	switch {
	case l >= slog.LevelError:
		return LogLevelError
	case l >= slog.LevelWarn:
		return LogLevelWarn
	case l >= slog.LevelInfo:
		return LogLevelInfo
	}
	return LogLevelDebug
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return level(l) >= h.min }

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	attrs := append([]slog.Attr(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	h.l.Log(level(r.Level), message{msg: r.Message, attrs: attrs})
	return nil
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &handler{l: h.l, min: h.min, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *handler) WithGroup(string) slog.Handler { return h }

// message formats a record lazily, as the Logger interface asks.
type message struct {
	msg   string
	attrs []slog.Attr
}

func (m message) String() string {
	s := m.msg
	for _, a := range m.attrs {
		s += " " + a.String()
	}
	return s
}
