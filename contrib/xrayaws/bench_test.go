package xrayaws_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
)

// BenchmarkGetItem measures a GetItem call against a local endpoint that
// answers at once: plain, instrumented without a segment, in an unsampled
// segment, and sampled (documents encoded and discarded).
func BenchmarkGetItem(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-Requestid", "BENCHREQ")
		w.Write([]byte(`{"ConsumedCapacity":{"TableName":"users","CapacityUnits":0.5},"Item":{"user_id":{"S":"u1"},"name":{"S":"n"}}}`))
	}))
	defer srv.Close()
	in := &dynamodb.GetItemInput{TableName: aws.String("users"), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		Key: map[string]types.AttributeValue{"user_id": &types.AttributeValueMemberS{Value: "u1"}}}

	run := func(b *testing.B, client *dynamodb.Client, ctx func() (context.Context, *xray.Segment)) {
		b.ReportAllocs()
		for b.Loop() {
			c, seg := ctx()
			if _, err := client.GetItem(c, in); err != nil {
				b.Fatal(err)
			}
			seg.Close(nil)
		}
	}
	plainCfg := newConfig(srv.URL)
	plainCfg.APIOptions = nil
	plain := dynamodb.NewFromConfig(plainCfg)
	traced := dynamodb.NewFromConfig(newConfig(srv.URL))
	background := func() (context.Context, *xray.Segment) { return context.Background(), nil }
	recorder := func(s sampling.Strategy) func() (context.Context, *xray.Segment) {
		r, err := xray.New(xray.Config{Emitter: xray.DiscardEmitter{}, SamplingStrategy: s})
		if err != nil {
			b.Fatal(err)
		}
		return func() (context.Context, *xray.Segment) { return r.BeginSegment(context.Background(), "bench") }
	}
	b.Run("plain", func(b *testing.B) { run(b, plain, background) })
	b.Run("plain-in-segment", func(b *testing.B) { run(b, plain, recorder(sampling.Always)) })
	b.Run("unsampled", func(b *testing.B) { run(b, traced, recorder(sampling.Never)) })
	b.Run("sampled", func(b *testing.B) { run(b, traced, recorder(sampling.Always)) })
}
