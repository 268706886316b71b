package xraychi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xraychi"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
)

// setup returns a recorder that sends to a daemon of the test's own; the
// test runs in parallel.
func setup(t *testing.T) (*xraytest.Daemon, *xray.Recorder) {
	t.Parallel()
	d := xraytest.NewDaemon(t)
	rec, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close(context.Background()) })
	return d, rec
}

func TestRoutesStatusPanicAndNesting(t *testing.T) {
	d, rec := setup(t)
	r := chi.NewRouter()
	r.Use(middleware.Recoverer, xraychi.Middleware(xraychi.WithRecorder(rec)))
	r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, sub := xray.BeginSubsegment(r.Context(), "db")
		sub.Close(nil)
		w.Write([]byte("ok"))
	})
	r.Get("/missing/{id}", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusNotFound) })
	r.Get("/boom", func(http.ResponseWriter, *http.Request) { panic(errors.New("boom")) })
	srv := httptest.NewServer(r)
	defer srv.Close()

	want := map[string]struct {
		name         string
		status       int
		error, fault bool
	}{
		"/users/42":   {"/users/:id", 200, false, false},
		"/missing/7":  {"/missing/:id", 404, true, false},
		"/boom":       {"/boom", 500, false, true},
		"/no-route/1": {"127.0.0.1", 404, true, false},
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
		if doc.Name() != w.name || int(status) != w.status || doc.Bool("error") != w.error || doc.Bool("fault") != w.fault {
			t.Errorf("%s: segment %q status %v error %v fault %v", path, doc.Name(), status, doc.Bool("error"), doc.Bool("fault"))
		}
		if path == "/users/42" && doc.Find("db") == nil {
			t.Errorf("the handler's subsegment is not under the request's segment")
		}
		if path == "/boom" && doc.Object("cause") == nil {
			t.Errorf("the panic is not recorded")
		}
	}
}

func TestPattern(t *testing.T) {
	for in, want := range map[string]string{"/users/{id}": "/users/:id", "/a/{id:[0-9]{2}}/b": "/a/:id/b", "/files/*": "/files/*", "/": "/"} {
		if got := xraychi.Pattern(in); got != want {
			t.Errorf("Pattern(%q) = %q, want %q", in, got, want)
		}
	}
}
