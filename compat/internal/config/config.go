// Package config holds what the packages of the compatibility tree share
// about the default recorder: the core configuration last given to
// xray.Configure, the plugins that awsplugins/*.Init registered and the
// logger of xray.SetLogger. Changing any of them remakes the core's default
// recorder from all three, as aws-xray-sdk-go applies them together.
package config

import (
	"log/slog"
	"sync"

	"github.com/openxray/xray"
)

var (
	mu      sync.Mutex
	core    xray.Config
	plugins []xray.Plugin
	logger  *slog.Logger
	applied bool // Apply ran
)

// Logger returns the logger of SetLogger, or slog.Default().
func Logger() *slog.Logger {
	mu.Lock()
	defer mu.Unlock()
	if logger != nil {
		return logger
	}
	return slog.Default()
}

// SetLogger sets the SDK's logger and remakes the default recorder.
func SetLogger(l *slog.Logger) error {
	mu.Lock()
	logger = l
	mu.Unlock()
	return Apply()
}

// AddPlugin registers an environment plugin and remakes the default
// recorder.
func AddPlugin(p xray.Plugin) error {
	mu.Lock()
	plugins = append(plugins, p)
	mu.Unlock()
	return Apply()
}

// Build returns c with the registered plugins and logger added, sending
// each document as its segment closes, as aws-xray-sdk-go does (its
// programs never flush).
func Build(c xray.Config) xray.Config {
	mu.Lock()
	defer mu.Unlock()
	c.SyncSend = true
	c.Plugins = append(append([]xray.Plugin(nil), c.Plugins...), plugins...)
	if c.Logger == nil {
		c.Logger = logger
	}
	return c
}

// Set records c as the configuration of the default recorder and remakes
// it.
func Set(c xray.Config) error {
	mu.Lock()
	core = c
	mu.Unlock()
	return Apply()
}

var ensured sync.Once

// Ensure makes the default recorder once, from the defaults, unless
// something of this package already did.
func Ensure() {
	ensured.Do(func() {
		mu.Lock()
		done := applied
		mu.Unlock()
		if !done {
			Apply()
		}
	})
}

// Apply remakes the default recorder from the configuration, plugins and
// logger.
func Apply() error {
	mu.Lock()
	c := core
	applied = true
	mu.Unlock()
	return xray.Configure(Build(c))
}
