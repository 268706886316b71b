package xrayecho_test

import (
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/openxray/xray/contrib/xrayecho"
)

func ExampleMiddleware() {
	e := echo.New()
	e.Use(middleware.Recover(), xrayecho.Middleware())
	e.GET("/users/:id", func(c echo.Context) error {
		// c.Request().Context() holds the segment "/users/:id".
		return nil
	})
}
