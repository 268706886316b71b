package xrayecho_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/openxray/xray/contrib/xrayecho"
	"github.com/openxray/xray/xraytest"
)

func ExampleMiddleware() {
	rec, sent := xraytest.NewRecorder() // in a program: xrayecho.Middleware()
	e := echo.New()
	e.Use(middleware.Recover(), xrayecho.Middleware(xrayecho.WithRecorder(rec)))
	e.GET("/users/:id", func(c echo.Context) error {
		// c.Request().Context() holds the segment "/users/:id".
		return nil
	})
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/users/7", nil))
	fmt.Println(sent.Documents()[0].Name())
	// Output: /users/:id
}
