package demo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/openxray/xray/cmd/xray/internal/local"
)

// Malformed causes, deep metadata and a truncated trace render in the
// viewer without a script error, and the viewer says the trace is cut.
func TestViewerRendersHostileDocuments(t *testing.T) {
	exe := chromium(t)
	l := start(t)
	const hdr = "{\"format\":\"json\",\"version\":1}\n"
	const trace = "1-5f84c7a1-0000000000000000000000ee"
	now := float64(time.Now().Unix())
	deep := strings.Repeat(`{"a":`, 200) + `"bottom"` + strings.Repeat("}", 200)
	causes := []string{
		`"a string"`, `{"exceptions":"not a list"}`, `{"exceptions":[null,5,"x",{"stack":"x"},{"stack":[null,7,{"label":{"o":1}}]},{"type":{"t":1},"message":["m"]}]}`,
		`{"exceptions":[{"type":"E","message":"m","stack":[{"label":"f","path":"p.go","line":3}]}]}`, `12`,
	}
	var docs []string
	docs = append(docs, hdr+fmt.Sprintf(`{"name":"root","id":"%016x","trace_id":"%s","start_time":%f,"end_time":%f,"metadata":{"deep":%s}}`, 1, trace, now, now+1, deep))
	for i, c := range causes {
		docs = append(docs, hdr+fmt.Sprintf(`{"name":"sub%d","id":"%016x","trace_id":"%s","type":"subsegment","parent_id":"%016x","start_time":%f,"end_time":%f,"fault":true,"cause":%s}`, i, i+2, trace, 1, now, now+0.5, c))
	}
	// Enough bulk to pass the per-answer limit.
	pad := strings.Repeat("p", 60_000)
	for i := range 150 {
		docs = append(docs, hdr+fmt.Sprintf(`{"name":"bulk","id":"%016x","trace_id":"%s","type":"subsegment","parent_id":"%016x","start_time":%f,"end_time":%f,"metadata":{"p":"%s"}}`, 100+i, trace, 1, now+0.6, now+0.7, pad))
	}
	conn, err := net.Dial("udp", l.Daemon.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		if _, err := conn.Write([]byte(d)); err != nil {
			t.Fatal(err)
		}
		if i%20 == 19 {
			waitStored(t, l, int64(i+1))
		}
	}
	conn.Close()
	waitStored(t, l, int64(len(docs)))

	ctx := browser(t, exe)
	var mu sync.Mutex
	var thrown []string
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			mu.Lock()
			thrown = append(thrown, e.ExceptionDetails.Error())
			mu.Unlock()
		}
	})
	var note string
	var rows int
	actions := []chromedp.Action{
		chromedp.Navigate("http://" + l.HTTPAddr + "/#/trace/" + trace),
		chromedp.WaitVisible(`#waterfall .wf-row`),
		chromedp.Text(`#trace-note`, &note),
		chromedp.Evaluate(`document.querySelectorAll('#waterfall .wf-row').length`, &rows),
	}
	for i := 1; i <= 1+len(causes); i++ {
		actions = append(actions, chromedp.Click(fmt.Sprintf(`#waterfall .wf-row:nth-child(%d)`, i)), chromedp.WaitVisible(`#detail h3`))
	}
	actions = append(actions, chromedp.Click(`.tabs button[data-tab="raw"]`), chromedp.WaitVisible(`#raw`))
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(thrown) > 0 {
		t.Errorf("the viewer threw: %v", thrown)
	}
	if !strings.Contains(note, "too large to show whole") {
		t.Errorf("no truncation note: %q", note)
	}
	if rows < 1+len(causes) {
		t.Errorf("%d rows", rows)
	}
}

func waitStored(t *testing.T, l *local.Local, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.Store.Stats(context.Background()).Documents < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d documents stored, want %d", l.Store.Stats(context.Background()).Documents, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The list is drawn from markup: names and annotations that are markup
// themselves show as text and run nothing.
func TestListShowsMarkupAsText(t *testing.T) {
	exe := chromium(t)
	l := start(t)
	const hdr = "{\"format\":\"json\",\"version\":1}\n"
	name := `<img src=x onerror="window.pwned=1">`
	ann := `"><script>window.pwned=2</script>`
	now := float64(time.Now().Unix())
	doc, _ := json.Marshal(map[string]any{"name": name, "id": "00000000000000a1", "trace_id": "1-5f84c7a1-0000000000000000000000a1",
		"start_time": now, "end_time": now + 0.01, "annotations": map[string]any{"k'\"<": ann}})
	conn, err := net.Dial("udp", l.Daemon.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.Write(append([]byte(hdr), doc...))
	conn.Close()
	waitStored(t, l, 1)
	var shown, annShown string
	var pwned bool
	if err := chromedp.Run(browser(t, exe),
		chromedp.Navigate("http://"+l.HTTPAddr+"/"),
		chromedp.WaitVisible(`#traces tbody tr.row`, chromedp.ByQuery),
		chromedp.Text(`#traces tbody tr.row td:nth-child(2)`, &shown, chromedp.ByQuery),
		chromedp.Text(`#traces tbody tr.row .ann`, &annShown, chromedp.ByQuery),
		chromedp.Evaluate(`window.pwned !== undefined || document.querySelector('#traces img, #traces script') !== null`, &pwned),
	); err != nil {
		t.Fatal(err)
	}
	if shown != name || annShown != `k'"<=`+ann || pwned {
		t.Errorf("name shown as %q, annotation as %q, markup ran or was inserted: %v", shown, annShown, pwned)
	}
}
