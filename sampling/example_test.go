package sampling_test

import (
	"fmt"

	"github.com/openxray/xray/sampling"
)

func ExampleNewLocalizedStrategyFromJSONBytes() {
	s, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{
	  "version": 2,
	  "rules": [
	    {"name": "health", "description": "never trace health checks",
	     "host": "*", "http_method": "GET", "url_path": "/health", "fixed_target": 0, "rate": 0}
	  ],
	  "default": {"fixed_target": 1, "rate": 0.05}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	d := s.ShouldTrace(sampling.Request{Host: "shop.example.com", Method: "GET", URL: "/health"})
	fmt.Println(d.Sample, d.Rule)
	// Output: false health
}
