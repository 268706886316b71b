package xraygin_test

import (
	"github.com/gin-gonic/gin"
	"github.com/openxray/xray/contrib/xraygin"
)

func ExampleMiddleware() {
	r := gin.New()
	r.Use(gin.Recovery(), xraygin.Middleware())
	r.GET("/users/:id", func(c *gin.Context) {
		// c.Request.Context() holds the segment "/users/:id".
	})
}
