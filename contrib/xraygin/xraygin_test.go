package xraygin_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xraygin"
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
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery(), xraygin.Middleware(xraygin.WithRecorder(rec)))
	r.GET("/users/:id", func(c *gin.Context) {
		_, sub := xray.BeginSubsegment(c.Request.Context(), "db")
		sub.Close(nil)
		c.String(http.StatusOK, "ok")
	})
	r.GET("/fail/:id", func(c *gin.Context) {
		c.Error(errors.New("the order cannot be found")) //nolint:errcheck
		c.AbortWithStatus(http.StatusNotFound)
	})
	r.GET("/boom", func(*gin.Context) { panic("boom") })
	srv := httptest.NewServer(r)
	defer srv.Close()

	want := map[string]struct {
		name         string
		status       int
		error, fault bool
		cause        bool
	}{
		"/users/42":   {"/users/:id", 200, false, false, false},
		"/fail/7":     {"/fail/:id", 404, true, false, true},
		"/boom":       {"/boom", 500, false, true, true},
		"/no-route/1": {"127.0.0.1", 404, true, false, false},
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
		if doc.Name() != w.name || int(status) != w.status || doc.Bool("error") != w.error || doc.Bool("fault") != w.fault || (doc.Object("cause") != nil) != w.cause {
			t.Errorf("%s: segment %q status %v error %v fault %v cause %v", path, doc.Name(), status, doc.Bool("error"), doc.Bool("fault"), doc.Object("cause"))
		}
		if path == "/users/42" && doc.Find("db") == nil {
			t.Errorf("the handler's subsegment is not under the request's segment")
		}
		if path == "/fail/7" && !strings.Contains(fmt.Sprint(doc.Object("cause")), "cannot be found") {
			t.Errorf("c.Errors not recorded: %v", doc.Object("cause"))
		}
	}
}
