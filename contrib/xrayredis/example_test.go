package xrayredis_test

import (
	"context"
	"fmt"

	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xrayredis"
	"github.com/redis/go-redis/v9"
)

func ExampleNewHook() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	rdb.AddHook(xrayredis.NewHook())

	ctx, seg := xray.BeginSegment(context.Background(), "checkout")
	defer seg.Close(nil)
	rdb.Get(ctx, "user:42:cart") // a subsegment "redis@127.0.0.1:6379"
}

func ExampleInstrument() {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:7000", "127.0.0.1:7001"}})
	defer rdb.Close()
	// Each node's commands are named after that node.
	xrayredis.Instrument(rdb)
}

func ExampleShape() {
	fmt.Println(xrayredis.Shape("user:42:cart"))
	fmt.Println(xrayredis.Shape("session:3f2a9c1e-77aa-4c1b-9a11-0f5e2c3d4b5a"))
	// Output:
	// user:?:cart
	// session:?
}
