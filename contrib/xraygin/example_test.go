package xraygin_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/gin-gonic/gin"
	"github.com/openxray/xray/contrib/xraygin"
	"github.com/openxray/xray/xraytest"
)

func ExampleMiddleware() {
	rec, sent := xraytest.NewRecorder() // in a program: xraygin.Middleware()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery(), xraygin.Middleware(xraygin.WithRecorder(rec)))
	r.GET("/users/:id", func(c *gin.Context) {
		// c.Request.Context() holds the segment "/users/:id".
	})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/users/7", nil))
	fmt.Println(sent.Documents()[0].Name())
	// Output: /users/:id
}
