package demo_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// On a laptop-sized window the trace's detail pane goes under the
// waterfall instead of beside it.
func TestNarrowWindowInBrowser(t *testing.T) {
	exe := chromium(t)
	l := start(t)
	var wide, narrow string
	err := chromedp.Run(browser(t, exe),
		chromedp.Navigate("http://"+l.HTTPAddr+"/#/trace/1-5f000003-dddddddddddddddddddddddd"),
		chromedp.WaitReady(`#trace-layout`, chromedp.ByQuery),
		chromedp.Evaluate(`getComputedStyle(document.querySelector('#trace-layout')).flexDirection`, &wide),
		chromedp.EmulateViewport(1024, 700),
		chromedp.Evaluate(`getComputedStyle(document.querySelector('#trace-layout')).flexDirection`, &narrow),
	)
	if err != nil {
		t.Fatal(err)
	}
	if wide != "row" || narrow != "column" {
		t.Errorf("trace layout: %s at 1400 px, %s at 1024 px", wide, narrow)
	}
}

// The viewer follows the system's light or dark setting.
func TestThemesFollowTheSystem(t *testing.T) {
	exe := chromium(t)
	l := start(t)
	scheme := func(v string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			return emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}).Do(ctx)
		})
	}
	background := `getComputedStyle(document.body).backgroundColor`
	var light, dark string
	var shot []byte
	err := chromedp.Run(browser(t, exe),
		scheme("light"),
		chromedp.Navigate("http://"+l.HTTPAddr+"/"),
		chromedp.WaitVisible(`#traces`, chromedp.ByQuery),
		chromedp.Evaluate(background, &light),
		scheme("dark"),
		chromedp.Evaluate(background, &dark),
		chromedp.FullScreenshot(&shot, 100),
	)
	if err != nil {
		t.Fatal(err)
	}
	if light != "rgb(255, 255, 255)" || dark != "rgb(21, 24, 29)" {
		t.Errorf("background: light %s, dark %s", light, dark)
	}
	os.WriteFile(filepath.Join(t.TempDir(), "dark.png"), shot, 0o644)
	if d := os.Getenv("XRAY_TEST_SCREENSHOTS"); d != "" {
		os.WriteFile(filepath.Join(d, "dark.png"), shot, 0o644)
	}
}
