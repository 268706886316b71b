package xrayecho_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xrayecho"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
)

func TestRoutesStatusErrorsPanic(t *testing.T) {
	t.Parallel()
	d := xraytest.NewDaemon(t)
	rec, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close(context.Background()) })
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.Recover(), xrayecho.Middleware(xrayecho.WithRecorder(rec)))
	e.GET("/users/:id", func(c echo.Context) error {
		_, sub := xray.BeginSubsegment(c.Request().Context(), "db")
		sub.Close(nil)
		return c.String(http.StatusOK, "ok")
	})
	e.GET("/orders/:id", func(echo.Context) error {
		return echo.NewHTTPError(http.StatusNotFound, "the order cannot be found")
	})
	e.GET("/fails", func(echo.Context) error { return errors.New("the store is down") })
	e.GET("/boom", func(echo.Context) error { panic("boom") })
	srv := httptest.NewServer(e)
	defer srv.Close()

	want := map[string]struct {
		name         string
		status       int
		error, fault bool
		cause        string
	}{
		"/users/42":   {"/users/:id", 200, false, false, ""},
		"/orders/7":   {"/orders/:id", 404, true, false, "cannot be found"},
		"/fails":      {"/fails", 500, false, true, "the store is down"},
		"/boom":       {"/boom", 500, false, true, "boom"},
		"/no-route/1": {"127.0.0.1", 404, true, false, "Not Found"},
	}
	for path, w := range want {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != w.status {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		rec.Flush(context.Background())
		doc := d.WaitResponseTrace(t, resp, 5*time.Second)
		status, _ := doc.Object("http")["response"].(map[string]any)["status"].(float64)
		cause := fmt.Sprint(doc.Object("cause"))
		if doc.Name() != w.name || int(status) != w.status || doc.Bool("error") != w.error || doc.Bool("fault") != w.fault ||
			(w.cause == "") != (doc.Object("cause") == nil) || !strings.Contains(cause, w.cause) {
			t.Errorf("%s: segment %q status %v error %v fault %v cause %v", path, doc.Name(), status, doc.Bool("error"), doc.Bool("fault"), cause)
		}
		if path == "/users/42" && doc.Find("db") == nil {
			t.Errorf("the handler's subsegment is not under the request's segment")
		}
	}
}
