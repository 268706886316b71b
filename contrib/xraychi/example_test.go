package xraychi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"
	"github.com/openxray/xray/contrib/xraychi"
	"github.com/openxray/xray/xraytest"
)

func ExampleMiddleware() {
	rec, sent := xraytest.NewRecorder() // in a program: xraychi.Middleware()
	r := chi.NewRouter()
	r.Use(xraychi.Middleware(xraychi.WithRecorder(rec)))
	r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		// r.Context() holds the segment "/users/:id".
	})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/users/7", nil))
	fmt.Println(sent.Documents()[0].Name())
	// Output: /users/:id
}

func ExamplePattern() {
	fmt.Println(xraychi.Pattern("/users/{id}/orders/{order:[0-9]+}"))
	// Output: /users/:id/orders/:order
}
