package demo_test

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/openxray/xray/cmd/xray/internal/demo"
	"github.com/openxray/xray/cmd/xray/internal/local"
)

// The search builder offers what the store holds and writes the filter;
// the list's state is in the URL, so a search opens again from a link.
func TestSearchBuilderInBrowser(t *testing.T) {
	exe := chromium(t)
	l := start(t)
	var out bytes.Buffer
	if err := demo.Run(context.Background(), demo.Options{Local: local.Options{UDP: l.Daemon.Addr().String(), HTTP: l.HTTPAddr}, Once: true, Out: &out}); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	var keys, filter, hash string
	var built, linked int
	err := chromedp.Run(browser(t, exe),
		chromedp.Navigate("http://"+l.HTTPAddr+"/"),
		chromedp.WaitVisible(`#traces tbody tr.row`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('#b-key option[value="flow"]') !== null`, nil),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('#b-key option')).map(o => o.value).join(',')`, &keys),
		chromedp.SetValue(`#b-key`, "flow", chromedp.ByQuery),
		chromedp.SetValue(`#b-value`, "n-plus-one", chromedp.ByQuery),
		chromedp.Click(`#b-add`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelectorAll('#traces tbody tr.row').length === 1`, nil),
		chromedp.Evaluate(`document.querySelectorAll('#traces tbody tr.row').length`, &built),
		chromedp.Value(`#filter`, &filter, chromedp.ByQuery),
		chromedp.Evaluate(`location.hash`, &hash),
		// The same search from its link, in a fresh page.
		chromedp.Navigate("about:blank"),
		chromedp.Navigate("http://"+l.HTTPAddr+"/"+"#/?filter="+url.QueryEscape(`annotation.flow = "n-plus-one"`)+"&since=1h"),
		chromedp.Poll(`document.querySelectorAll('#traces tbody tr.row').length === 1`, nil),
		chromedp.Evaluate(`document.querySelectorAll('#traces tbody tr.row').length`, &linked),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(keys, "flow") || filter != `annotation.flow = "n-plus-one"` || built != 1 || linked != 1 ||
		!strings.Contains(hash, "filter=annotation.flow") {
		t.Errorf("keys %q, filter %q, rows %d, hash %q, from the link %d rows", keys, filter, built, hash, linked)
	}
}
