package daemon

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// 100k datagrams, one in ten malformed in one of five ways (60 KB ones too), sent in paced
// bursts so the kernel drops none: every counter must match what was sent.
func TestFloodCounters(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test")
	}
	d, err := Listen(Config{UDPAddr: "127.0.0.1:0", QueueLen: 1 << 17})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var consumed atomic.Int64
	go func() {
		for range d.Documents() {
			consumed.Add(1)
		}
	}()
	go d.Run(ctx)

	conn, err := net.Dial("udp", d.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	garbage := []struct{ reason, datagram string }{
		{ReasonHeader, "nonsense\n{}"},
		{ReasonJSON, hdr + "{not json"},
		{ReasonType, hdr + `{"name":1,"id":"70de5b6f19ff9a0a"}`},
		{ReasonMissingID, hdr + `{"name":"x","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1}`},
		// Oversized documents cannot travel in an IPv4 datagram at all;
		// Parse's own test covers them.
		{ReasonTooDeep, hdr + strings.Repeat("[", 60000)},
	}
	const total = 100_000
	want := map[string]uint64{}
	for i := range total {
		var msg string
		if i%10 == 9 {
			g := garbage[(i/10)%len(garbage)]
			msg = g.datagram
			want[g.reason]++
		} else {
			msg = fmt.Sprintf(hdr+`{"name":"svc","id":"%016x","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1.5,"end_time":2}`, i)
		}
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 { // 60 KB datagrams must not overflow the socket buffer
			waitFor(t, func() bool { return d.Stats().Received >= uint64(i+1) })
		}
	}
	// Received counts a datagram before it is parsed: wait until every
	// datagram has been accepted or refused.
	waitFor(t, func() bool {
		st := d.Stats()
		n := st.Accepted
		for _, r := range st.Refused {
			n += r
		}
		return n == total && consumed.Load() == int64(st.Accepted)
	})
	st := d.Stats()
	var refused uint64
	for reason, n := range st.Refused {
		refused += n
		if n != want[reason] {
			t.Errorf("refused[%s] = %d, want %d", reason, n, want[reason])
		}
	}
	if st.Accepted != total-total/10 || st.Accepted+refused != total {
		t.Errorf("accepted %d + refused %d, want %d + %d", st.Accepted, refused, total-total/10, total/10)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(time.Millisecond)
	}
}

// A full queue refuses and counts; the receive loop does not wait.
func TestQueueFull(t *testing.T) {
	d, err := Listen(Config{UDPAddr: "127.0.0.1:0", QueueLen: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	conn, _ := net.Dial("udp", d.Addr().String())
	defer conn.Close()
	for i := range 10 {
		fmt.Fprintf(conn, hdr+`{"name":"svc","id":"%016x","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1}`, i)
	}
	waitFor(t, func() bool { st := d.Stats(); return st.Accepted+st.Refused[ReasonQueueFull] == 10 })
	if st := d.Stats(); st.Accepted != 2 || st.Refused[ReasonQueueFull] != 8 {
		t.Errorf("stats %+v", st)
	}
}

func TestForward(t *testing.T) {
	up, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	d, err := Listen(Config{UDPAddr: "127.0.0.1:0", Forward: up.LocalAddr().String()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	conn, _ := net.Dial("udp", d.Addr().String())
	defer conn.Close()
	msg := hdr + `{"name":"svc","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1}`
	conn.Write([]byte(msg))
	conn.Write([]byte("garbage is forwarded too"))
	buf := make([]byte, 1<<16)
	up.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []string{msg, "garbage is forwarded too"} {
		n, err := up.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("upstream got %q, %v; want %q", buf[:n], err, want)
		}
	}
}
