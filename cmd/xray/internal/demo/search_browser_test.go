package demo_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/openxray/xray/cmd/xray/internal/store"
)

// Two traces side by side: what the second adds, lacks, and does slower.
func TestCompareTracesInBrowser(t *testing.T) {
	exe := chromium(t)
	l := start(t)
	runDemo(t, l)
	id := func(flow string) string {
		list, err := l.Store.Traces(context.Background(), store.Query{Filter: `annotation.flow = "` + flow + `"`, Limit: 1})
		if err != nil || len(list) != 1 {
			t.Fatalf("flow %s: %v %v", flow, list, err)
		}
		return list[0].TraceID
	}
	a, b := id("crud"), id("n-plus-one")
	var summary, hash string
	var added, removed, rows int
	var shot []byte
	err := chromedp.Run(browser(t, exe),
		chromedp.Navigate("http://"+l.HTTPAddr+"/#/trace/"+a),
		chromedp.Poll(`document.querySelector('#compare-with option[value="`+b+`"]') !== null`, nil),
		chromedp.SetValue(`#compare-with`, b, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#compare-with').dispatchEvent(new Event('change')); 0`, nil),
		chromedp.Poll(`document.querySelectorAll('#compare tbody tr').length > 0`, nil),
		chromedp.Evaluate(`location.hash`, &hash),
		chromedp.Text(`#compare-summary`, &summary, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#compare tbody tr').length`, &rows),
		chromedp.Evaluate(`document.querySelectorAll('#compare tbody tr.added').length`, &added),
		chromedp.Evaluate(`document.querySelectorAll('#compare tbody tr.removed').length`, &removed),
		chromedp.FullScreenshot(&shot, 100),
	)
	if err != nil {
		t.Fatal(err)
	}
	if hash != "#/compare/"+a+"/"+b || added == 0 || removed == 0 || rows < added+removed || !strings.Contains(summary, "adds") {
		t.Errorf("compare %q: %d rows, %d added, %d removed, %q", hash, rows, added, removed, summary)
	}
	os.WriteFile(filepath.Join(t.TempDir(), "compare.png"), shot, 0o644)
	if d := os.Getenv("XRAY_TEST_SCREENSHOTS"); d != "" {
		os.WriteFile(filepath.Join(d, "compare.png"), shot, 0o644)
	}
}

// The search builder offers what the store holds and writes the filter;
// the list's state is in the URL, so a search opens again from a link.
func TestSearchBuilderInBrowser(t *testing.T) {
	exe := chromium(t)
	l := start(t)
	runDemo(t, l)
	var keys, filter, hash string
	var built, linked int
	var named bool
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
		// A root name, offered from the store: every row has it.
		chromedp.Poll(`document.querySelector('#b-name option[value="storefront"]') !== null`, nil),
		chromedp.Evaluate(`document.querySelector('#filter').value = ''; document.querySelector('#b-key').value = ''; document.querySelector('#b-name').value = 'storefront'`, nil),
		chromedp.Click(`#b-add`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('#filter').value === 'name = "storefront"' && document.querySelectorAll('#traces tbody tr.row').length > 1`, nil),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('#traces tbody tr.row td:nth-child(2)')).every(td => td.textContent === "storefront")`, &named),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(keys, "flow") || filter != `annotation.flow = "n-plus-one"` || built != 1 || linked != 1 ||
		!strings.Contains(hash, "filter=annotation.flow") || !named {
		t.Errorf("keys %q, filter %q, rows %d, hash %q, from the link %d rows; by name, all rows named %v", keys, filter, built, hash, linked, named)
	}
}
