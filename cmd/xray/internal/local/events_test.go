package local

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray/cmd/xray/internal/store"
)

// /api/events streams the IDs of the traces each stored batch wrote.
func TestEventsStream(t *testing.T) {
	l := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+l.HTTPAddr+"/api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, ct)
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Scan() // the opening comment: the stream is subscribed
	const trace = "1-5f000001-0123456789abcdef01234567"
	now := float64(time.Now().Unix())
	send(t, l, fmt.Sprintf(`{"format":"json","version":1}`+"\n"+`{"name":"live","id":"1111222233334444","trace_id":%q,"start_time":%f,"end_time":%f}`, trace, now, now+0.01))
	var event string
	for lines.Scan() {
		line := lines.Text()
		if strings.HasPrefix(line, "event: ") {
			event = strings.TrimPrefix(line, "event: ")
		}
		if strings.HasPrefix(line, "data: ") && event == "traces" {
			if !strings.Contains(line, trace) {
				t.Errorf("event data %q lacks %s", line, trace)
			}
			return
		}
	}
	t.Fatalf("the stream ended without an event: %v", lines.Err())
}

// Live listeners are bounded; one that leaves frees its place.
func TestSubscribersBounded(t *testing.T) {
	l := start(t)
	var cancels []func()
	for range store.MaxSubscribers {
		ch, cancel := l.Store.Subscribe()
		if ch == nil {
			t.Fatal("refused below the bound")
		}
		cancels = append(cancels, cancel)
	}
	resp, err := http.Get("http://" + l.HTTPAddr + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("past the bound: %d, want 503", resp.StatusCode)
	}
	cancels[0]()
	cancels[0]() // twice is harmless
	if ch, cancel := l.Store.Subscribe(); ch == nil {
		t.Error("a freed place was not reused")
	} else {
		cancel()
	}
	for _, c := range cancels[1:] {
		c()
	}
}
