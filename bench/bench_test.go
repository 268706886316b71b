// Package bench compares the cost of tracing database/sql with OpenXRay,
// aws-xray-sdk-go and otelsql (OpenTelemetry), in one run, on the same
// workloads. It is a module of its own: the comparison's dependencies never
// reach OpenXRay's users. See bench/run.
package bench

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/XSAM/otelsql"
	awssampling "github.com/aws/aws-xray-sdk-go/v2/strategy/sampling"
	awsxray "github.com/aws/aws-xray-sdk-go/v2/xray"
	"github.com/aws/aws-xray-sdk-go/v2/xraylog"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraysql"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// The fake daemon is this test binary started again with an environment
// variable: a separate process, so receiving is not charged to the tracer.
const daemonEnv = "OPENXRAY_BENCH_FAKE_DAEMON"

// The OTLP sink is the same kind of child: an OTLP/HTTP endpoint that
// reads each request and answers 200, for both OTLP exporters compared.
const sinkEnv = "OPENXRAY_BENCH_OTLP_SINK"

func TestMain(m *testing.M) {
	if os.Getenv(daemonEnv) != "" {
		fakeDaemon()
		return
	}
	if os.Getenv(sinkEnv) != "" {
		otlpSink()
		return
	}
	code := m.Run()
	if daemon != nil {
		daemon.stop()
	}
	if sink != nil {
		sink.stop()
	}
	os.Exit(code)
}

// otlpSink counts requests and bytes; "stats" on stdin prints them.
func otlpSink() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	var count, bytes atomic.Int64
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		count.Add(1)
		bytes.Add(n)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fmt.Println(count.Load(), bytes.Load())
	}
}

var sink *childDaemon

func startSink(b testing.TB) *childDaemon {
	if sink == nil {
		sink = startChild(b, sinkEnv)
	}
	return sink
}

// fakeDaemon counts datagrams and bytes; "stats" on stdin prints them.
func fakeDaemon() {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	conn.SetReadBuffer(8 << 20)
	fmt.Println(conn.LocalAddr().String())
	var count, bytes atomic.Int64
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			count.Add(1)
			bytes.Add(int64(n))
		}
	}()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fmt.Println(count.Load(), bytes.Load())
	}
}

type childDaemon struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	addr string
}

var daemon *childDaemon

func startDaemon(b testing.TB) *childDaemon {
	if daemon == nil {
		daemon = startChild(b, daemonEnv)
	}
	return daemon
}

// startChild starts this test binary again with env set, as a receiver
// that prints its address first and then answers each line on stdin.
func startChild(tb testing.TB, env string) *childDaemon {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), env+"=1")
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	d := &childDaemon{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	if !d.out.Scan() {
		tb.Fatalf("%s: the receiver did not start", env)
	}
	d.addr = d.out.Text()
	return d
}

// stats returns the datagrams and bytes received so far, once the count
// has stopped moving (what was sent has arrived).
func (d *childDaemon) stats() (count, bytes int64) {
	last := int64(-1)
	for {
		fmt.Fprintln(d.in, "stats")
		d.out.Scan()
		fmt.Sscan(d.out.Text(), &count, &bytes)
		if count == last {
			return count, bytes
		}
		last = count
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *childDaemon) stop() { d.in.Close(); d.cmd.Wait() }

// cpuNanos is the process's user and system time.
func cpuNanos() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// opener opens the database of a variant.
type opener func(driverName, dsn string) (*sql.DB, error)

// variant is one way of running the workloads.
type variant struct {
	name   string
	open   opener
	parent func(ctx context.Context) (context.Context, func()) // a segment or span per operation; nil for none
	flush  func()                                              // asynchronous exporters, flushed inside the loop
	xray   bool                                                // sends to the fake daemon
}

// fakeDaemonEmitter is a UDP emitter paced for the fake daemon, whose
// socket has an 8 MB receive buffer.
func fakeDaemonEmitter(addr string) *xray.UDPEmitter {
	e := xray.NewUDPEmitter(addr, nil)
	e.SetPacing(1<<30, 4<<20)
	return e
}

type dropExporter struct{}

func (dropExporter) ExportSpans(context.Context, []trace.ReadOnlySpan) error { return nil }
func (dropExporter) Shutdown(context.Context) error                          { return nil }

func variants(b testing.TB) []variant {
	d := startDaemon(b)
	plain := func(driverName, dsn string) (*sql.DB, error) { return sql.Open(driverName, dsn) }

	// OpenXRay: a recorder each for sampled and unsampled, their emitters
	// paced for the fake daemon's 8 MB buffer (the default pacing is for
	// the AWS daemon's 208 KiB; aws-xray-sdk-go does not pace).
	oxSampled, err := xray.New(xray.Config{Emitter: fakeDaemonEmitter(d.addr), SamplingStrategy: sampling.Always})
	if err != nil {
		b.Fatal(err)
	}
	oxUnsampled, _ := xray.New(xray.Config{Emitter: fakeDaemonEmitter(d.addr), SamplingStrategy: sampling.Never})
	oxOpen := func(driverName, dsn string) (*sql.DB, error) {
		return xraysql.Open(driverName, dsn, xraysql.WithoutDatabaseVersion())
	}
	oxParent := func(r *xray.Recorder) func(ctx context.Context) (context.Context, func()) {
		return func(ctx context.Context) (context.Context, func()) {
			ctx, seg := r.BeginSegment(ctx, "bench")
			return ctx, func() { seg.Close(nil) }
		}
	}

	// aws-xray-sdk-go: global configuration, local sampling rules.
	awsxray.SetLogger(xraylog.NullLogger)
	awsConfigure := func(rate int) func() {
		return func() {
			rules := fmt.Sprintf(`{"version": 2, "default": {"fixed_target": %d, "rate": %d}}`, rate*1_000_000, rate)
			s, err := awssampling.NewLocalizedStrategyFromJSONBytes([]byte(rules))
			if err != nil {
				b.Fatal(err)
			}
			if err := awsxray.Configure(awsxray.Config{DaemonAddr: d.addr, SamplingStrategy: s}); err != nil {
				b.Fatal(err)
			}
		}
	}
	awsParent := func(ctx context.Context) (context.Context, func()) {
		ctx, seg := awsxray.BeginSegment(ctx, "bench")
		return ctx, func() { seg.Close(nil) }
	}

	// otelsql with the OpenTelemetry SDK: a batch processor and an exporter
	// that drops; ForceFlush in the loop counts the processor's work.
	otelProvider := func(s trace.Sampler) *trace.TracerProvider {
		return trace.NewTracerProvider(trace.WithSampler(s), trace.WithSpanProcessor(trace.NewBatchSpanProcessor(dropExporter{})))
	}
	otelAlways, otelNever := otelProvider(trace.AlwaysSample()), otelProvider(trace.NeverSample())
	otelOpen := func(tp *trace.TracerProvider) opener {
		return func(driverName, dsn string) (*sql.DB, error) {
			return otelsql.Open(driverName, dsn, otelsql.WithTracerProvider(tp))
		}
	}
	otelParent := func(tp *trace.TracerProvider) func(ctx context.Context) (context.Context, func()) {
		tr := tp.Tracer("bench")
		return func(ctx context.Context) (context.Context, func()) {
			ctx, span := tr.Start(ctx, "bench", oteltrace.WithSpanKind(oteltrace.SpanKindServer))
			return ctx, func() { span.End() }
		}
	}
	otelFlush := func(tp *trace.TracerProvider) func() {
		return func() { tp.ForceFlush(context.Background()) }
	}

	// OTLP to the same loopback sink: OpenXRay's exporter, and otelsql with
	// the OpenTelemetry SDK's batch processor and otlptracehttp, both with
	// their default (no) compression, queues large enough that nothing is
	// dropped between flushes.
	otlpURL := "http://" + startSink(b).addr + "/v1/traces"
	oxOTLP, err := xray.New(xray.Config{Exporters: []string{xray.ExporterOTLP}, SamplingStrategy: sampling.Always,
		OTLP: xray.OTLPConfig{Endpoint: otlpURL, MaxQueueSize: 1 << 16}})
	if err != nil {
		b.Fatal(err)
	}
	otlpExp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(otlpURL))
	if err != nil {
		b.Fatal(err)
	}
	otelOTLP := trace.NewTracerProvider(trace.WithSampler(trace.AlwaysSample()),
		trace.WithSpanProcessor(trace.NewBatchSpanProcessor(otlpExp, trace.WithMaxQueueSize(1<<16))))

	awsSampled, awsUnsampled := awsConfigure(1), awsConfigure(0)
	return []variant{
		{name: "plain", open: plain},
		{name: "openxray/sampled", open: oxOpen, parent: oxParent(oxSampled), flush: func() { oxSampled.Flush(context.Background()) }, xray: true},
		{name: "openxray/parent", open: plain, parent: oxParent(oxSampled), flush: func() { oxSampled.Flush(context.Background()) }, xray: true},
		{name: "openxray/unsampled", open: oxOpen, parent: oxParent(oxUnsampled), xray: true},
		{name: "awsxray/sampled", open: withSetup(awsSampled, awsxray.SQLContext), parent: awsParent, flush: awsSampled, xray: true},
		{name: "awsxray/parent", open: withSetup(awsSampled, plain), parent: awsParent, flush: awsSampled, xray: true},
		{name: "awsxray/unsampled", open: withSetup(awsUnsampled, awsxray.SQLContext), parent: awsParent, flush: awsUnsampled, xray: true},
		{name: "otelsql/sampled", open: otelOpen(otelAlways), parent: otelParent(otelAlways), flush: otelFlush(otelAlways)},
		{name: "otelsql/parent", open: plain, parent: otelParent(otelAlways), flush: otelFlush(otelAlways)},
		{name: "otelsql/unsampled", open: otelOpen(otelNever), parent: otelParent(otelNever), flush: otelFlush(otelNever)},
		{name: "openxray-otlp/sampled", open: oxOpen, parent: oxParent(oxOTLP), flush: func() { oxOTLP.Flush(context.Background()) }},
		{name: "openxray-otlp/parent", open: plain, parent: oxParent(oxOTLP), flush: func() { oxOTLP.Flush(context.Background()) }},
		{name: "otelsql-otlp/sampled", open: otelOpen(otelOTLP), parent: otelParent(otelOTLP), flush: otelFlush(otelOTLP)},
		{name: "otelsql-otlp/parent", open: plain, parent: otelParent(otelOTLP), flush: otelFlush(otelOTLP)},
	}
}

// withSetup configures a global SDK before opening (aws-xray-sdk-go keeps
// its configuration in globals, set again before each of its variants).
func withSetup(setup func(), open opener) opener {
	return func(driverName, dsn string) (*sql.DB, error) {
		setup()
		return open(driverName, dsn)
	}
}

// sqliteDB opens a fresh in-memory database for one variant.
func sqliteDB(b testing.TB, v variant, n int) *sql.DB {
	dsn := fmt.Sprintf("file:bench%d?mode=memory&cache=shared", n)
	db, err := v.open("sqlite", dsn)
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	mustExec(b, db, ctx, "DROP TABLE IF EXISTS users")
	mustExec(b, db, ctx, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT)")
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= 1000; i++ {
		if _, err := tx.ExecContext(ctx, "INSERT INTO users (id, name, email) VALUES (?, ?, ?)", i, fmt.Sprint("user", i), fmt.Sprint("user", i, "@example.com")); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return db
}

func mustExec(b testing.TB, db *sql.DB, ctx context.Context, q string) {
	if _, err := db.ExecContext(ctx, q); err != nil {
		b.Fatal(err)
	}
}

// run measures op under every variant: ns/op, B/op, allocs/op, cpu-ns/op
// (user + system time of the process) and, for X-Ray variants, datagrams
// and bytes sent per op.
func run(b *testing.B, open func(b testing.TB, v variant, n int) *sql.DB, op func(ctx context.Context, db *sql.DB) error) {
	for i, v := range variants(b) {
		b.Run(v.name, func(b *testing.B) {
			db := open(b, v, i)
			defer db.Close()
			if v.flush != nil {
				v.flush() // a global SDK is configured for this variant
			}
			d := startDaemon(b)
			c0, bytes0 := d.stats()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuNanos()
			n := 0
			for b.Loop() {
				ctx := context.Background()
				end := func() {}
				if v.parent != nil {
					ctx, end = v.parent(ctx)
				}
				if err := op(ctx, db); err != nil {
					b.Fatal(err)
				}
				end()
				if n++; n%256 == 0 && v.flush != nil {
					v.flush()
				}
			}
			if v.flush != nil {
				v.flush()
			}
			cpu := cpuNanos() - cpu0
			b.StopTimer()
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			if v.xray {
				c1, bytes1 := d.stats()
				b.ReportMetric(float64(c1-c0)/float64(b.N), "datagrams/op")
				b.ReportMetric(float64(bytes1-bytes0)/float64(b.N), "sent-B/op")
			}
		})
	}
}

// W1: a point query.
func BenchmarkW1QueryRow(b *testing.B) {
	run(b, sqliteDB, func(ctx context.Context, db *sql.DB) error {
		var name, email string
		return db.QueryRowContext(ctx, "SELECT name, email FROM users WHERE id = ?", 42).Scan(&name, &email)
	})
}

// W2: an update.
func BenchmarkW2Exec(b *testing.B) {
	run(b, sqliteDB, func(ctx context.Context, db *sql.DB) error {
		_, err := db.ExecContext(ctx, "UPDATE users SET name = ? WHERE id = ?", "renamed", 42)
		return err
	})
}

// W3: a transaction of three statements.
func BenchmarkW3Transaction(b *testing.B) {
	run(b, sqliteDB, func(ctx context.Context, db *sql.DB) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, id := range []int{1, 2, 3} {
			if _, err := tx.ExecContext(ctx, "UPDATE users SET name = ? WHERE id = ?", "tx", id); err != nil {
				tx.Rollback()
				return err
			}
		}
		return tx.Commit()
	})
}

// W1 on the real PostgreSQL server, through pgx's database/sql driver.
func BenchmarkW1PostgreSQL(b *testing.B) {
	dsn := os.Getenv("XRAY_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	run(b, func(b testing.TB, v variant, n int) *sql.DB {
		db, err := v.open("pgx", dsn)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		mustExec(b, db, ctx, "CREATE TABLE IF NOT EXISTS bench_users_w1 (id INT PRIMARY KEY, name TEXT, email TEXT)")
		mustExec(b, db, ctx, "INSERT INTO bench_users_w1 SELECT g, 'user' || g, 'user' || g || '@example.com' FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING")
		return db
	}, func(ctx context.Context, db *sql.DB) error {
		var name, email string
		return db.QueryRowContext(ctx, "SELECT name, email FROM bench_users_w1 WHERE id = $1", 42).Scan(&name, &email)
	})
}

// BenchmarkEmitter measures the UDP emitter's throughput to the fake
// daemon, with datagrams batched (sendmmsg) and sent one by one, paced for
// the fake daemon's 8 MB buffer, and batched with the default pacing (for
// the AWS daemon's 208 KiB): documents per second, with Flush in the loop.
func BenchmarkEmitter(b *testing.B) {
	for _, mode := range []string{"batched", "single", "batched-default-pacing"} {
		b.Run(mode, func(b *testing.B) {
			d := startDaemon(b)
			e := fakeDaemonEmitter(d.addr)
			if mode == "batched-default-pacing" {
				e.SetPacing(xray.DefaultPacingRate, xray.DefaultPacingBurst)
			}
			e.SetBatching(mode != "single")
			defer e.Close(context.Background())
			doc := []byte(`{"name":"svc","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1478293361.271,"end_time":1478293361.449,"subsegments":[{"name":"db","id":"70de5b6f19ff9a0b","start_time":1478293361.3,"end_time":1478293361.4,"namespace":"remote","sql":{"sanitized_query":"SELECT name, email FROM users WHERE id = ?"}}]}`)
			docs := make([][]byte, 512)
			for i := range docs {
				docs[i] = append([]byte(nil), doc...)
			}
			c0, _ := d.stats()
			b.ReportAllocs()
			start := time.Now()
			cpu0 := cpuNanos()
			n := 0
			for b.Loop() {
				e.Emit(docs[n%len(docs)])
				if n++; n%len(docs) == 0 {
					e.Flush(context.Background())
				}
			}
			e.Flush(context.Background())
			elapsed, cpu := time.Since(start), cpuNanos()-cpu0
			c1, _ := d.stats()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "docs/s")
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(c1-c0)/float64(b.N), "delivered/op")
		})
	}
}

// TestVariants runs each variant's W1 a few times, so that CI notices when
// a compared SDK changes under the benchmarks.
func TestVariants(t *testing.T) {
	for i, v := range variants(t) {
		db := sqliteDB(t, v, 100+i)
		for range 3 {
			ctx := context.Background()
			end := func() {}
			if v.parent != nil {
				ctx, end = v.parent(ctx)
			}
			var name, email string
			if err := db.QueryRowContext(ctx, "SELECT name, email FROM users WHERE id = ?", 42).Scan(&name, &email); err != nil || name != "user42" {
				t.Errorf("%s: %q, %v", v.name, name, err)
			}
			end()
		}
		if v.flush != nil {
			v.flush()
		}
		db.Close()
	}
}
