package xrayhttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/openxray/xray/header"
	"github.com/openxray/xray/xrayhttp"
	"github.com/openxray/xray/xraytest"
)

func ExampleHandler() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "user "+r.PathValue("id"))
	})
	// Segments named by the matched route ("GET /users/{id}"), not by the
	// path, so names stay few.
	h := xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("users-api"), mux, xrayhttp.WithRouteName(nil))

	req := httptest.NewRequest("GET", "/users/7", nil)
	req.Header.Set(header.Name, "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=?")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	fmt.Println(w.Body.String())
	fmt.Println(header.FromString(w.Header().Get(header.Name)).TraceID)
	// Output:
	// user 7
	// 1-5759e988-bd862e3fe1be46a994272793
}

func ExampleClient() {
	client := xrayhttp.Client(&http.Client{}, xrayhttp.WithTimings())
	// Requests made with a context carrying a segment become subsegments
	// and carry X-Amzn-Trace-Id to the callee.
	_ = client
	fmt.Println("ok")
	// Output: ok
}

func ExampleNewDynamicSegmentNamer() {
	n := xrayhttp.NewDynamicSegmentNamer("frontend", "*.example.com")
	fmt.Println(n.Name("shop.example.com"), n.Name("10.0.0.7"))
	// Output: shop.example.com frontend
}

// A centralized sampling rule with Attributes {"X-Tenant": "gold"} applies
// to the requests that carry that header.
func ExampleWithSamplingHeaders() {
	rec, sent := xraytest.NewRecorder() // records everything, in memory
	h := xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("shop"), http.NotFoundHandler(),
		xrayhttp.WithSamplingHeaders("X-Tenant"), xrayhttp.WithRecorder(rec))
	req := httptest.NewRequest("GET", "/cart", nil)
	req.Header.Set("X-Tenant", "gold")
	h.ServeHTTP(httptest.NewRecorder(), req)
	doc := sent.Documents()[0]
	fmt.Println(doc.Name(), doc.Object("http")["response"].(map[string]any)["status"])
	// Output: shop 404
}
