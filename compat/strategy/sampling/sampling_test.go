package sampling_test

import (
	"fmt"
	"testing"

	"github.com/openxray/xray/compat/strategy/sampling"
	core "github.com/openxray/xray/sampling"
)

type never struct{}

func (never) ShouldTrace(*sampling.Request) *sampling.Decision { return &sampling.Decision{} }

func TestCore(t *testing.T) {
	s, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version": 2, "rules": [{"description": "health", "host": "*", "http_method": "GET", "url_path": "/health", "fixed_target": 0, "rate": 0}], "default": {"fixed_target": 0, "rate": 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !sampling.Core(s).ShouldTrace(core.Request{URL: "/orders", Method: "GET"}).Sample {
		t.Error("default rule not applied through Core")
	}
	if s.ShouldTrace(&sampling.Request{URL: "/health", Method: "GET"}).Sample {
		t.Error("health rule not applied")
	}
	if sampling.Core(never{}).ShouldTrace(core.Request{}).Sample {
		t.Error("a user's strategy is not adapted")
	}
}

func ExampleNewLocalizedStrategyFromJSONBytes() {
	s, _ := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version": 2, "default": {"fixed_target": 0, "rate": 1}}`))
	fmt.Println(s.ShouldTrace(&sampling.Request{Host: "shop.example", Method: "GET", URL: "/cart"}).Sample)
	// Output: true
}
