package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awssampling "github.com/aws/aws-xray-sdk-go/v2/strategy/sampling"
	awsxray "github.com/aws/aws-xray-sdk-go/v2/xray"
	"github.com/aws/aws-xray-sdk-go/v2/xraylog"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
)

// The strict daemon receives as the AWS X-Ray daemon does: the kernel's
// default socket receive buffer and one goroutine reading one datagram at
// a time. It runs as a process of its own (this binary again) and reports
// what it received and what the kernel dropped at its socket.
const strictDaemonEnv = "OPENXRAY_BENCH_STRICT_DAEMON"

func init() {
	if os.Getenv(strictDaemonEnv) != "" {
		strictDaemon()
		os.Exit(0)
	}
}

func strictDaemon() {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println(conn.LocalAddr().String())
	var count, queries atomic.Int64
	query := []byte(`"name":"query"`)
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			count.Add(1)
			queries.Add(int64(bytes.Count(buf[:n], query)))
		}
	}()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		drops, _ := xraytest.SocketDrops(conn.LocalAddr().(*net.UDPAddr))
		fmt.Println(count.Load(), drops, queries.Load())
	}
}

// strictReceiver is the strict daemon's process.
type strictReceiver struct{ *childDaemon }

func startStrict(tb testing.TB) *strictReceiver {
	r := &strictReceiver{startChild(tb, strictDaemonEnv)}
	tb.Cleanup(r.stop)
	return r
}

// settled returns what arrived and what the kernel dropped, once the
// count has stopped moving.
func (r *strictReceiver) settled() (received, dropped, queries int64) {
	last := int64(-1)
	for {
		fmt.Fprintln(r.in, "stats")
		r.out.Scan()
		fmt.Sscan(r.out.Text(), &received, &dropped, &queries)
		if received+dropped == last {
			return received, dropped, queries
		}
		last = received + dropped
		time.Sleep(50 * time.Millisecond)
	}
}

// spin keeps one core busy in another process while a measurement runs.
func spin(tb testing.TB) {
	cmd := exec.Command("sh", "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

// BenchmarkDelivery sends trees of 300 and 3,000 subsegments of 1 KB
// (metadata) per op to a strict daemon, with OpenXRay and with
// aws-xray-sdk-go, while another process keeps a core busy, and reports
// the share of datagrams delivered (delivered-%: received over received
// plus kernel drops), the share of subsegments that arrived
// (subsegments-%: a datagram too large to send is lost before the
// kernel counts it) and the time from the segment's close until its last
// datagram was handed to the kernel (send-ms/op).
func BenchmarkDelivery(b *testing.B) {
	payload := strings.Repeat("x", 1000)
	for _, n := range []int{300, 3000} {
		for _, paced := range []bool{true, false} {
			name := "openxray"
			if !paced {
				name = "openxray-unpaced" // as OpenXRay sent before it paced
			}
			b.Run(fmt.Sprintf("%s/tree%d", name, n), func(b *testing.B) {
				recv := startStrict(b)
				spin(b)
				e := xray.NewUDPEmitter(recv.addr, nil)
				if !paced {
					e.SetPacing(0, 0)
				}
				r, err := xray.New(xray.Config{Emitter: e, SamplingStrategy: sampling.Always})
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close(context.Background())
				var sending time.Duration
				for b.Loop() {
					ctx, seg := r.BeginSegment(context.Background(), "tree")
					for range n {
						_, sub := r.BeginSubsegment(ctx, "query")
						sub.AddMetadata("payload", payload)
						sub.Close(nil)
					}
					seg.Close(nil)
					start := time.Now()
					r.Flush(context.Background())
					sending += time.Since(start)
				}
				report(b, recv, n, sending)
			})
		}
		b.Run(fmt.Sprintf("awsxray/tree%d", n), func(b *testing.B) {
			awsxray.SetLogger(xraylog.NullLogger)
			recv := startStrict(b)
			spin(b)
			always, err := awssampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version": 2, "default": {"fixed_target": 1000000, "rate": 1}}`))
			if err != nil {
				b.Fatal(err)
			}
			if err := awsxray.Configure(awsxray.Config{DaemonAddr: recv.addr, SamplingStrategy: always}); err != nil {
				b.Fatal(err)
			}
			var sending time.Duration
			for b.Loop() {
				ctx, seg := awsxray.BeginSegment(context.Background(), "tree")
				for range n {
					_, sub := awsxray.BeginSubsegment(ctx, "query")
					sub.AddMetadata("payload", payload)
					sub.Close(nil)
				}
				start := time.Now()
				seg.Close(nil) // aws-xray-sdk-go sends in the caller
				sending += time.Since(start)
			}
			report(b, recv, n, sending)
		})
	}
}

func report(b *testing.B, recv *strictReceiver, n int, sending time.Duration) {
	b.StopTimer()
	received, dropped, queries := recv.settled()
	total := received + dropped
	if total == 0 {
		b.Fatal("nothing reached the strict daemon")
	}
	b.ReportMetric(100*float64(received)/float64(total), "delivered-%")
	b.ReportMetric(float64(dropped)/float64(b.N), "kernel-drops/op")
	b.ReportMetric(100*float64(queries)/float64(n*b.N), "subsegments-%")
	b.ReportMetric(float64(total)/float64(b.N), "datagrams/op")
	b.ReportMetric(float64(sending.Milliseconds())/float64(b.N), "send-ms/op")
}
