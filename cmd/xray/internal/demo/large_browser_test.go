package demo_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/openxray/xray/cmd/xray/internal/daemon"
)

// A trace of 10,000 spans: the page holds only the rows in view, and
// scrolling to the end shows the last span.
func TestLargeTraceInBrowser(t *testing.T) {
	exe := chromium(t)
	l := start(t)
	const trace = "1-5f000002-cccccccccccccccccccccccc"
	now := float64(time.Now().Unix())
	var docs []daemon.Document
	add := func(raw string) {
		d, err := daemon.ParseDocument([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	add(fmt.Sprintf(`{"name":"big","id":"0000000000000001","trace_id":%q,"start_time":%f,"end_time":%f}`, trace, now, now+10))
	for g := range 100 {
		var kids []string
		for k := range 99 {
			at := now + float64(g)*0.1 + float64(k)*0.001
			kids = append(kids, fmt.Sprintf(`{"name":"span-%d-%d","id":"%016x","start_time":%f,"end_time":%f}`, g, k, 0x100000+g*100+k, at, at+0.0005))
		}
		at := now + float64(g)*0.1
		add(fmt.Sprintf(`{"name":"group-%d","id":"%016x","trace_id":%q,"parent_id":"0000000000000001","type":"subsegment","start_time":%f,"end_time":%f,"subsegments":[%s]}`,
			g, 0x10000+g, trace, at, at+0.099, strings.Join(kids, ",")))
	}
	if err := l.Store.Write(context.Background(), docs); err != nil {
		t.Fatal(err)
	}

	var spans, rendered int
	var last string
	var loadMs float64
	var shot []byte
	err := chromedp.Run(browser(t, exe),
		chromedp.Navigate("http://"+l.HTTPAddr+"/"),
		chromedp.WaitVisible(`#traces`, chromedp.ByQuery),
		chromedp.Evaluate(`window.t0 = performance.now(); location.hash = '#/trace/`+trace+`'; 0`, nil),
		chromedp.Poll(`document.querySelectorAll('#waterfall .wf-row').length > 0`, nil),
		chromedp.Evaluate(`performance.now() - window.t0`, &loadMs),
		chromedp.Evaluate(`wf.visible.length`, &spans),
		chromedp.Evaluate(`document.querySelectorAll('#waterfall .wf-row').length`, &rendered),
		chromedp.Evaluate(`document.querySelector('#waterfall').scrollTop = 1e9; 0`, nil),
		chromedp.Poll(`(() => { const r = document.querySelectorAll('#waterfall .wf-row .wf-title'); return r.length && r[r.length - 1].textContent === 'span-99-98'; })()`, nil),
		chromedp.Evaluate(`(() => { const r = document.querySelectorAll('#waterfall .wf-row .wf-title'); return r[r.length - 1].textContent; })()`, &last),
		chromedp.FullScreenshot(&shot, 100),
	)
	if err != nil {
		t.Fatal(err)
	}
	if spans != 10001 || rendered > 200 || last != "span-99-98" {
		t.Errorf("%d spans, %d rows in the page, last %q", spans, rendered, last)
	}
	t.Logf("a 10,001-span trace opened in %.0f ms, %d rows in the page", loadMs, rendered)
	os.WriteFile(filepath.Join(t.TempDir(), "large.png"), shot, 0o644)
	if d := os.Getenv("XRAY_TEST_SCREENSHOTS"); d != "" {
		os.WriteFile(filepath.Join(d, "large.png"), shot, 0o644)
	}
}
