package xraylog_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/openxray/xray/compat/xraylog"
)

// What the SDK logs through slog reaches a Logger of this package, at its
// level and above.
func TestSlog(t *testing.T) {
	var buf bytes.Buffer
	l := xraylog.Slog(xraylog.NewDefaultLogger(&buf, xraylog.LogLevelWarn), xraylog.LogLevelDebug)
	l.Info("quiet")
	l.Warn("xray: segment documents dropped", "reason", "queue full")
	out := buf.String()
	if strings.Contains(out, "quiet") || !strings.Contains(out, "[WARN] xray: segment documents dropped reason=queue full") {
		t.Errorf("log: %q", out)
	}
}

func ExampleLogLevel_String() {
	fmt.Println(xraylog.LogLevelError)
	// Output: ERROR
}
