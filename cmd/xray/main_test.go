package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "xray ") {
		t.Errorf("version: %v %q", err, out.String())
	}
	if err := run(context.Background(), nil, &out, &errOut); err == nil || !strings.Contains(errOut.String(), "usage") {
		t.Errorf("no command: %v", err)
	}
	if err := run(context.Background(), []string{"bogus"}, &out, &errOut); err == nil {
		t.Error("unknown command accepted")
	}
	if err := run(context.Background(), []string{"local", "--udp", "not-an-address", "--db", ":memory:"}, &out, &errOut); err == nil {
		t.Error("bad --udp accepted")
	}
}

// "xray local" starts, serves and stops on a cancelled context.
func TestLocalCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"local", "--udp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--db", t.TempDir() + "/x.db"}, &out, &errOut)
	}()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
