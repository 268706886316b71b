// Command xray is OpenXRay's command line.
//
//	xray local   a local X-Ray daemon: receives segments over UDP like the
//	             AWS daemon, stores them in SQLite and serves a trace viewer
//	xray demo    runs a traced sample service against a local daemon and
//	             prints its traces
//	xray migrate rewrites a module that uses aws-xray-sdk-go to OpenXRay
//
// Run "xray <command> -h" for the flags of each.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/cmd/xray/internal/demo"
	"github.com/openxray/xray/cmd/xray/internal/local"
	"github.com/openxray/xray/cmd/xray/internal/migrate"
	"github.com/openxray/xray/cmd/xray/internal/otlpin"
	"github.com/openxray/xray/cmd/xray/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "xray:", err)
		os.Exit(1)
	}
}

const usage = `usage: xray <command> [flags]

commands:
  local    run a local X-Ray daemon with a trace viewer
  demo     run a traced sample service and print its traces
  migrate  rewrite a module that uses aws-xray-sdk-go to OpenXRay
  version  print the version
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	switch args[0] {
	case "local":
		return runLocal(ctx, args[1:], stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "migrate":
		return runMigrate(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "xray", xray.SDKVersion)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func localFlags(fs *flag.FlagSet) *local.Options {
	o := &local.Options{}
	fs.StringVar(&o.UDP, "udp", "127.0.0.1:2000", "UDP address for segments (loopback unless you choose otherwise)")
	fs.StringVar(&o.HTTP, "http", "127.0.0.1:2001", "address of the viewer and its API")
	fs.StringVar(&o.DB, "db", store.DefaultPath(), "SQLite database file")
	fs.DurationVar(&o.Retention, "retention", 24*time.Hour, "delete traces older than this (0 keeps everything)")
	fs.StringVar(&o.SamplingRules, "sampling-rules", "", "local sampling rules file served to SDKs (GetSamplingRules, SamplingTargets)")
	fs.StringVar(&o.Forward, "forward", "", "also relay every datagram to this upstream daemon (host:port)")
	fs.StringVar(&o.OTLP, "otlp", "127.0.0.1:4318", `address receiving OpenTelemetry traces over OTLP/HTTP at /v1/traces ("off" for none)`)
	fs.StringVar(&o.ForwardOTLP, "forward-otlp", "", "also relay every OTLP request to this OTLP/HTTP traces URL (a collector's, Jaeger's)")
	return o
}

// markRequired records whether --otlp was given: then an address in use is
// an error, where the default only warns.
func markRequired(fs *flag.FlagSet, o *local.Options) {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "otlp" {
			o.OTLPRequired = true
		}
	})
}

func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("xray local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := localFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	markRequired(fs, o)
	o.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	l, err := local.Start(ctx, *o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "OpenXRay local daemon\n  segments  udp://%s\n  viewer    http://%s/\n  database  %s\n", l.Daemon.Addr(), l.HTTPAddr, o.DB)
	if l.OTLPAddr != "" {
		fmt.Fprintf(stdout, "  otlp      http://%s%s\n", l.OTLPAddr, otlpin.Path)
	}
	select {
	case <-ctx.Done():
	case err = <-l.Errors():
	}
	return errors.Join(err, l.Close())
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("xray demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := localFlags(fs)
	once := fs.Bool("once", false, "exit after printing the traces (for scripts and CI)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return demo.Run(ctx, demo.Options{Local: *o, Once: *once, Out: stdout})
}

func runMigrate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("xray migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: xray migrate [-w] [--to compat|core] [packages]")
		fmt.Fprintln(stderr, "\nRewrites the module in the current directory from aws-xray-sdk-go to OpenXRay.")
		fmt.Fprintln(stderr, "Without -w it prints a unified diff; with -w it writes the files and go.mod.")
		fs.PrintDefaults()
	}
	var o migrate.Options
	write := fs.Bool("w", false, "write the changes (and update go.mod) instead of printing a diff")
	to := fs.String("to", "compat", "target: compat (the aws-xray-sdk-go compatibility tree, smallest diff) or core (the idiomatic API)")
	fs.StringVar(&o.Version, "version", migrate.DefaultVersion, "version of the OpenXRay modules to require")
	fs.StringVar(&o.Replace, "replace", "", "a local checkout of OpenXRay to replace the modules with")
	fs.BoolVar(&o.NoTidy, "no-tidy", false, "with -w, do not run go mod tidy")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := migrate.ParseTarget(*to)
	if err != nil {
		return err
	}
	o.Target, o.Write, o.Patterns = t, *write, fs.Args()
	res, err := migrate.Run(o)
	if err != nil {
		return err
	}
	if !o.Write {
		io.WriteString(stdout, res.Diff)
	}
	res.Report(stderr)
	if n := len(res.Findings); n > 0 {
		return fmt.Errorf("%d places need a hand (listed above)", n)
	}
	return nil
}
