package demo_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/openxray/xray"
	"github.com/openxray/xray/cmd/xray/internal/demo"
	"github.com/openxray/xray/cmd/xray/internal/local"
	"github.com/openxray/xray/sampling"
)

func start(t *testing.T) *local.Local {
	t.Helper()
	l, err := local.Start(context.Background(), local.Options{UDP: "127.0.0.1:0", HTTP: "127.0.0.1:0", OTLP: "127.0.0.1:0", DB: filepath.Join(t.TempDir(), "t.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// runDemo runs the demo's flows once against l and returns what it
// printed.
func runDemo(t *testing.T, l *local.Local) string {
	t.Helper()
	var out bytes.Buffer
	if err := demo.Run(context.Background(), demo.Options{Local: local.Options{UDP: l.Daemon.Addr().String(), HTTP: l.HTTPAddr}, Once: true, Out: &out}); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	return out.String()
}

// chromium finds Debian's Chromium, which scripts/test installs. The test
// fails rather than skips without it.
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("XRAY_TEST_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatal("Chromium not found (scripts/test installs Debian's chromium package)")
	return ""
}

// browser starts headless Chromium for the test, with the flags this
// machine's closed network needs, and returns its context (60 s).
func browser(t *testing.T, exe string) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(profileDir(t)),
		chromedp.WindowSize(1400, 900),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The viewer in a real browser, every page in the order issue 17 lists
// them, each with a screenshot: filter from the scatter plot, open a
// trace, read a SQL label on a waterfall row, select a span and read its
// sql tab, compare two traces, the service map, open the database page and
// sort by total time, follow a statement to its trace, and see a live
// trace appear.
func TestViewerInBrowser(t *testing.T) {
	exe := chromium(t)
	l := start(t)
	out := runDemo(t, l)
	if !strings.Contains(out, "N+1: the same statement ran 4 times") {
		t.Errorf("demo output lacks the N+1 note:\n%s", out)
	}

	ctx := browser(t, exe)

	var traces, rows int
	var listShot, traceShot, waterfallShot, mapShot []byte
	var sqlText string
	var firstStatement string
	var sqlLabel, httpLabel string
	var dbShot, scatterShot []byte
	var sqlTab, metaTab string
	var health, mapFilter string
	var critRows, collapsed, expanded int
	var keyed string
	var picked []string
	var sortedByTotal bool
	var topStatement, openedTrace string
	var compared int
	var compareShot, liveShot []byte
	var liveRows string
	err := chromedp.Run(ctx,
		chromedp.Navigate("http://"+l.HTTPAddr+"/"),
		chromedp.WaitVisible(`#traces tbody tr.row`),
		// Drag a rectangle around the slowest trace in the scatter plot:
		// the list keeps that trace alone.
		dragAroundSlowest(),
		chromedp.Poll(`document.querySelectorAll('#traces tbody tr.row').length === 1`, nil),
		chromedp.Evaluate(`[document.querySelector('#traces tbody tr.row').dataset.trace,
			`+slowestPoint+`.id]`, &picked),
		chromedp.FullScreenshot(&scatterShot, 100),
		chromedp.Click(`#clear-selection`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelectorAll('#traces tbody tr.row').length > 1`, nil),
		chromedp.SetValue(`#filter`, `annotation.flow = "n-plus-one"`),
		chromedp.Click(`#apply`),
		chromedp.Poll(`document.querySelectorAll('#traces tbody tr.row').length === 1`, nil),
		chromedp.Evaluate(`document.querySelectorAll('#traces tbody tr.row').length`, &traces),
		chromedp.FullScreenshot(&listShot, 100),
		chromedp.Click(`#traces tbody tr.row`),
		chromedp.WaitVisible(`#waterfall .wf-row`),
		chromedp.Evaluate(`document.querySelectorAll('#waterfall .wf-row').length`, &rows),
		chromedp.Evaluate(`document.querySelectorAll('#waterfall .wf-row.crit').length`, &critRows),
		// Collapse the root, expand it again.
		chromedp.Click(`#waterfall .wf-row:first-child .wf-toggle`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#waterfall .wf-row').length`, &collapsed),
		chromedp.Click(`#waterfall .wf-row:first-child .wf-toggle`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#waterfall .wf-row').length`, &expanded),
		// The keyboard walks the rows: two steps down from the top.
		chromedp.Focus(`#waterfall`, chromedp.ByQuery),
		chromedp.KeyEvent(kb.ArrowDown),
		chromedp.KeyEvent(kb.ArrowDown),
		chromedp.Evaluate(`document.querySelector('#waterfall .wf-row.sel .wf-title').textContent + '|' + document.querySelector('#detail h3').textContent + '|' +
			Array.from(document.querySelectorAll('#waterfall .wf-row')).indexOf(document.querySelector('#waterfall .wf-row.sel'))`, &keyed),
		// Rows say what they did: a statement and its database, a request.
		chromedp.Evaluate(`(document.querySelector('#waterfall .wf-label.wf-sql') || {}).textContent || ''`, &sqlLabel),
		chromedp.Evaluate(`(document.querySelector('#waterfall .wf-label.wf-http') || {}).textContent || ''`, &httpLabel),
		chromedp.Click(`#waterfall .wf-row:nth-child(3)`),
		chromedp.WaitVisible(`#detail pre`),
		// The span's details open on its sql tab; the metadata tab has the rows.
		chromedp.Evaluate(`document.querySelector('#detail .dtabs button.on').dataset.dtab + '|' + document.querySelector('#detail .dpane').textContent`, &sqlTab),
		chromedp.Click(`#detail .dtabs button[data-dtab="metadata"]`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#detail .dpane').textContent`, &metaTab),
		chromedp.FullScreenshot(&waterfallShot, 100),
		chromedp.Click(`.tabs button[data-tab="sql"]`),
		chromedp.WaitVisible(`#sql .b-n1`),
		chromedp.Text(`#sql tbody tr:nth-child(2) code`, &firstStatement),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('#sql .b-n1')).map(b => b.textContent).join(',')`, &sqlText),
		chromedp.FullScreenshot(&traceShot, 100),
		// Compare this trace with another the trace page offers.
		chromedp.Poll(`document.querySelectorAll('#compare-with option').length > 1`, nil),
		chromedp.Evaluate(`(() => { const s = document.querySelector('#compare-with'); s.value = s.options[1].value; s.dispatchEvent(new Event('change')); })()`, nil),
		chromedp.Poll(`location.hash.startsWith('#/compare/') && document.querySelectorAll('#compare tbody tr').length > 0`, nil),
		chromedp.Evaluate(`document.querySelectorAll('#compare tbody tr.added, #compare tbody tr.removed, #compare tbody tr.slower, #compare tbody tr.faster').length`, &compared),
		chromedp.FullScreenshot(&compareShot, 100),
		chromedp.Navigate("http://"+l.HTTPAddr+"/#/map"),
		chromedp.WaitVisible(`#map svg .map-node`),
		chromedp.FullScreenshot(&mapShot, 100),
		// A service's node filters the list to its traces.
		chromedp.Evaluate(`document.querySelector('#map .map-node[data-name="storefront"]').dataset.health`, &health),
		chromedp.Click(`#map .map-node[data-name="storefront"]`, chromedp.ByQuery),
		chromedp.Poll(`!document.querySelector('#list-view').hidden && document.querySelectorAll('#traces tbody tr.row').length > 0`, nil),
		chromedp.Evaluate(`decodeURIComponent(location.hash) + '|' + document.querySelector('#filter').value`, &mapFilter),
	)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range []chromedp.Action{
		// The database page: sort by total time, follow a statement to a
		// trace it ran in.
		chromedp.Navigate("http://" + l.HTTPAddr + "/#/db"),
		chromedp.WaitVisible(`#statements tbody tr.stmt`, chromedp.ByQuery),
		chromedp.Click(`#statements th[data-sort="calls"]`),
		chromedp.Click(`#statements th[data-sort="total_ms"]`),
		chromedp.Evaluate(`(() => { const v = Array.from(document.querySelectorAll('#statements tbody tr.stmt td:nth-child(4)')).map(td => parseFloat(td.textContent));
			return v.length > 1 && v.every((x, i) => i === 0 || v[i-1] >= x); })()`, &sortedByTotal),
		chromedp.Text(`#statements tbody tr.stmt td:first-child code`, &topStatement, chromedp.ByQuery),
		chromedp.Click(`#statements tbody tr.stmt`, chromedp.ByQuery),
		chromedp.WaitVisible(`#statements tbody tr.examples:not([hidden]) a.example`, chromedp.ByQuery),
		chromedp.FullScreenshot(&dbShot, 100),
		chromedp.Click(`#statements tbody tr.examples:not([hidden]) a.example`, chromedp.ByQuery),
		chromedp.Poll(`!document.querySelector('#trace-view').hidden && document.querySelectorAll('#waterfall .wf-row').length > 0`, nil),
		chromedp.Evaluate(`location.hash`, &openedTrace),
		// Back to the list, where a trace recorded now appears without a
		// reload.
		chromedp.Navigate("http://" + l.HTTPAddr + "/#/?filter=&since=1h"),
		chromedp.Poll(`document.querySelector('#live').classList.contains('on') && document.querySelectorAll('#traces tbody tr.row').length > 0`, nil),
		chromedp.ActionFunc(func(context.Context) error {
			rec, err := xray.New(xray.Config{DaemonAddr: l.Daemon.Addr().String(), SamplingStrategy: sampling.Always})
			if err != nil {
				return err
			}
			defer rec.Close(context.Background())
			_, seg := rec.BeginSegment(context.Background(), "live-walk")
			seg.Close(nil)
			return rec.Flush(context.Background())
		}),
		chromedp.Poll(`Array.from(document.querySelectorAll('#traces tbody tr.row td:nth-child(2)')).some(td => td.textContent === 'live-walk')`, nil),
		chromedp.Evaluate(`document.querySelector('#traces tbody tr.row td:nth-child(2)').textContent`, &liveRows),
		chromedp.FullScreenshot(&liveShot, 100),
	} {
		if err := chromedp.Run(ctx, a); err != nil {
			t.Fatalf("database page, step %d: %v", i, err)
		}
	}
	if traces != 1 || rows != 6 {
		t.Errorf("list shows %d traces (want 1), waterfall %d rows (want 6)", traces, rows)
	}
	if !strings.Contains(sqlLabel, "SELECT") || !strings.Contains(sqlLabel, "·") || !strings.Contains(httpLabel, "GET") {
		t.Errorf("waterfall labels: sql %q, http %q", sqlLabel, httpLabel)
	}
	if sqlText != "N+1 ×4,N+1 ×4,N+1 ×4,N+1 ×4" || !strings.Contains(firstStatement, "FROM orders WHERE user_id = ?") {
		t.Errorf("SQL view: flags %s, statement %q", sqlText, firstStatement)
	}
	if critRows < 2 || collapsed != 1 || expanded != 6 || !strings.HasPrefix(keyed, "shop.db|shop.db (") || !strings.HasSuffix(keyed, "|2") {
		t.Errorf("tree: %d rows on the critical path, %d collapsed, %d expanded; keyboard %q", critRows, collapsed, expanded, keyed)
	}
	if health == "" || !strings.Contains(mapFilter, `service("storefront")`) {
		t.Errorf("service map: health %q, filter after a click %q", health, mapFilter)
	}
	if !strings.HasPrefix(sqlTab, "sql|") || !strings.Contains(sqlTab, "sanitized_query") || !strings.Contains(metaTab, "rows_read") {
		t.Errorf("detail tabs: sql %q, metadata %q", sqlTab, metaTab)
	}
	if len(picked) != 2 || picked[0] != picked[1] {
		t.Errorf("scatter selection kept %v, want the slowest trace", picked)
	}
	if !sortedByTotal || topStatement == "" || !strings.HasPrefix(openedTrace, "#/trace/1-") {
		t.Errorf("database page: sorted by total %v, top statement %q, opened %q", sortedByTotal, topStatement, openedTrace)
	}
	if compared == 0 || liveRows != "live-walk" {
		t.Errorf("compare: %d rows added, removed, slower or faster; live: newest row %q", compared, liveRows)
	}
	dir := t.TempDir()
	shots := map[string][]byte{"1-scatter.png": scatterShot, "2-list.png": listShot, "3-waterfall.png": waterfallShot, "4-sql.png": traceShot,
		"5-compare.png": compareShot, "6-map.png": mapShot, "7-database.png": dbShot, "8-live.png": liveShot}
	for name, png := range shots {
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if d := os.Getenv("XRAY_TEST_SCREENSHOTS"); d != "" {
		for name, png := range shots {
			os.WriteFile(filepath.Join(d, name), png, 0o644)
		}
	}
}

// slowestPoint is, in the page, the scatter plot's highest point (the
// slowest trace): its position in the canvas and its trace ID.
const slowestPoint = `scatterState.pts.reduce((a, b) => (b.y < a.y ? b : a))`

// dragAroundSlowest drags the mouse over the scatter plot around its
// highest point (the slowest trace).
func dragAroundSlowest() chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var c []float64
		if err := chromedp.Evaluate(`(() => { const p = `+slowestPoint+`, r = document.querySelector('#scatter canvas').getBoundingClientRect();
			return [r.x + p.x, r.y + p.y]; })()`, &c).Do(ctx); err != nil {
			return err
		}
		x, y := c[0], c[1]
		steps := []*input.DispatchMouseEventParams{
			input.DispatchMouseEvent(input.MouseMoved, x-8, y-8),
			input.DispatchMouseEvent(input.MousePressed, x-8, y-8).WithButton(input.Left).WithClickCount(1),
			input.DispatchMouseEvent(input.MouseMoved, x, y).WithButton(input.Left),
			input.DispatchMouseEvent(input.MouseMoved, x+8, y+8).WithButton(input.Left),
			input.DispatchMouseEvent(input.MouseReleased, x+8, y+8).WithButton(input.Left).WithClickCount(1),
		}
		for _, s := range steps {
			if err := s.Do(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}

// profileDir is a directory for the browser's profile. Chromium's helper
// processes can still write to it for a moment after the browser exits, so
// it is removed with retries rather than by t.TempDir's strict cleanup.
func profileDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "xray-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("profile directory %s left behind", dir)
	})
	return dir
}
