package xraychi_test

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/openxray/xray/contrib/xraychi"
)

func ExampleMiddleware() {
	r := chi.NewRouter()
	r.Use(xraychi.Middleware())
	r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		// r.Context() holds the segment "/users/:id".
	})
	_ = http.ListenAndServe
}

func ExamplePattern() {
	fmt.Println(xraychi.Pattern("/users/{id}/orders/{order:[0-9]+}"))
	// Output: /users/:id/orders/:order
}
