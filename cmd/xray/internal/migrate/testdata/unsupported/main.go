// Command unsupported uses what neither the compatibility tree nor xray
// migrate can carry over: the segment's data blocks, read in place, and
// the SDK's context key.
package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-xray-sdk-go/v2/xray"
)

func main() {
	ctx, seg := xray.BeginSegment(context.Background(), "api")
	seg.GetHTTP().GetRequest().Method = "GET"
	fmt.Println(seg.Namespace, ctx.Value(xray.ContextKey) != nil)
	seg.Close(nil)
}
