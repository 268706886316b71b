package xrayaws_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/openxray/xray/xraytest"
)

// dynamoError answers the first failures requests with a DynamoDB error
// (status and code) and then an empty success, as DynamoDB's JSON
// protocol does.
func dynamoError(t *testing.T, failures int32, status int, code string) *httptest.Server {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-Requestid", "REQ"+string(rune('A'+n.Load())))
		if n.Add(1) <= failures {
			w.WriteHeader(status)
			w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#` + code + `","message":"simulated"}`))
			return
		}
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func putOnce(t *testing.T, endpoint string) (xraytest.Document, error) {
	t.Helper()
	client := dynamodb.NewFromConfig(newConfig(endpoint))
	rec, d := xraytest.NewDaemonRecorder(t)
	var err error
	doc := d.Trace(t, rec, "failures", func(ctx context.Context) {
		_, err = client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("users"), Item: user(1)})
	})
	subs := calls(doc)
	if len(subs) != 1 {
		t.Fatalf("%d subsegments for one call", len(subs))
	}
	noSecrets(t, d, "secret_user", "@example.com")
	return subs[0], err
}

func flags(d xraytest.Document) [3]bool {
	return [3]bool{d.Bool("error"), d.Bool("throttle"), d.Bool("fault")}
}

func status(d xraytest.Document) any {
	resp, _ := d.Object("http")["response"].(map[string]any)
	return resp["status"]
}

func TestThrottledThenServed(t *testing.T) {
	srv := dynamoError(t, 2, 400, "ProvisionedThroughputExceededException")
	sub, err := putOnce(t, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if awsField(sub, "retries") != float64(2) || flags(sub) != [3]bool{} || status(sub) != float64(200) {
		t.Errorf("retried call: retries %v flags %v status %v", awsField(sub, "retries"), flags(sub), status(sub))
	}
	if awsField(sub, "request_id") != "REQC" {
		t.Errorf("request_id %v: want the last attempt's", awsField(sub, "request_id"))
	}
}

func TestThrottled(t *testing.T) {
	srv := dynamoError(t, 100, 400, "ProvisionedThroughputExceededException")
	sub, err := putOnce(t, srv.URL)
	var pte *types.ProvisionedThroughputExceededException
	if !errors.As(err, &pte) {
		t.Fatalf("err %v", err)
	}
	if awsField(sub, "retries") != float64(2) || flags(sub) != [3]bool{true, true, false} || status(sub) != float64(400) {
		t.Errorf("throttled call: retries %v flags (error, throttle, fault) %v status %v", awsField(sub, "retries"), flags(sub), status(sub))
	}
	checkRemoteCause(t, sub, "ProvisionedThroughputExceededException")
}

func TestTooManyRequests(t *testing.T) {
	srv := dynamoError(t, 100, 429, "ThrottlingException")
	sub, _ := putOnce(t, srv.URL)
	if flags(sub) != [3]bool{true, true, false} || status(sub) != float64(429) {
		t.Errorf("429: flags %v status %v", flags(sub), status(sub))
	}
}

func TestServerError(t *testing.T) {
	srv := dynamoError(t, 100, 500, "InternalServerError")
	sub, err := putOnce(t, srv.URL)
	if err == nil {
		t.Fatal("no error")
	}
	if awsField(sub, "retries") != float64(2) || flags(sub) != [3]bool{false, false, true} || status(sub) != float64(500) {
		t.Errorf("5xx: retries %v flags %v status %v", awsField(sub, "retries"), flags(sub), status(sub))
	}
	checkRemoteCause(t, sub, "InternalServerError")
}

func TestClosedPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	sub, err := putOnce(t, "http://"+addr)
	if err == nil {
		t.Fatal("no error from a closed port")
	}
	if flags(sub) != [3]bool{false, false, true} || sub.Object("http") != nil {
		t.Errorf("closed port: flags %v http %v", flags(sub), sub.Object("http"))
	}
	if awsField(sub, "operation") != "PutItem" || awsField(sub, "table_name") != "users" {
		t.Errorf("closed port: aws %v", sub.Object("aws"))
	}
	ex, _ := sub.Object("cause")["exceptions"].([]any)
	if len(ex) == 0 || ex[0].(map[string]any)["remote"] == true {
		t.Errorf("a transport error is not an exception of the service: %v", sub.Object("cause"))
	}
}
