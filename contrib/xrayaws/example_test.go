package xrayaws_test

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xrayaws"
)

func ExampleInstrument() {
	cfg := aws.Config{Region: "us-east-1"} // or config.LoadDefaultConfig(ctx)
	xrayaws.Instrument(&cfg)
	db := dynamodb.NewFromConfig(cfg)

	ctx, seg := xray.BeginSegment(context.Background(), "orders-api")
	defer seg.Close(nil)
	// One subsegment "DynamoDB" with aws.operation GetItem, aws.table_name
	// orders, the request ID and the consumed capacity; never the key.
	_, err := db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:              aws.String("orders"),
		Key:                    map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "o-42"}},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		log.Print(err)
	}
}

func ExampleAppendMiddlewares() {
	cfg := aws.Config{Region: "us-east-1"}
	// Trace one client only, without parameters.
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		xrayaws.AppendMiddlewares(&o.APIOptions, xrayaws.WithoutParameters())
	})
	_ = db
}
