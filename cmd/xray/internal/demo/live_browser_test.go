package demo_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
)

// New traces appear in an open list, pushed by /api/events, without a
// reload.
func TestLiveTracesInBrowser(t *testing.T) {
	exe := chromium(t)
	l := start(t)
	rec, err := xray.New(xray.Config{DaemonAddr: l.Daemon.Addr().String(), SamplingStrategy: sampling.Always})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close(context.Background())
	send := chromedp.ActionFunc(func(context.Context) error {
		for _, name := range []string{"live-one", "live-two"} {
			_, seg := rec.BeginSegment(context.Background(), name)
			seg.Close(nil)
		}
		return rec.Flush(context.Background())
	})
	var names string
	var shot []byte
	err = chromedp.Run(browser(t, exe),
		chromedp.Navigate("http://"+l.HTTPAddr+"/"),
		// Subscribed, and the list (empty) is shown.
		chromedp.Poll(`document.querySelector('#live').classList.contains('on') && document.querySelector('#traces tbody').textContent.includes('No traces')`, nil),
		send,
		chromedp.Poll(`document.querySelectorAll('#traces tbody tr.row').length === 2`, nil),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('#traces tbody tr.row td:nth-child(2)')).map(e => e.textContent).sort().join(',')`, &names),
		chromedp.FullScreenshot(&shot, 100),
	)
	if err != nil {
		t.Fatal(err)
	}
	if names != "live-one,live-two" {
		t.Errorf("rows %q", names)
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), "live.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if d := os.Getenv("XRAY_TEST_SCREENSHOTS"); d != "" {
		os.WriteFile(filepath.Join(d, "live.png"), shot, 0o644)
	}
}
