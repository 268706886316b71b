package xrayaws_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/openxray/xray/xraytest"
)

// There is no local S3, SQS, SNS or Lambda here: these servers answer as
// the services document, enough for the SDK to parse what the
// instrumentation records.

func s3Server(t *testing.T) *wire {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Amz-Request-Id", "S3REQ1")
		w.Header().Set("X-Amz-Id-2", "S3HOSTID2")
		w.Header().Set("ETag", `"abc"`)
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("secret-object-content"))
		}
	}))
	t.Cleanup(srv.Close)
	return newWire(t, srv.URL)
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sqsServer speaks SQS's JSON protocol.
func sqsServer(t *testing.T) *wire {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-Requestid", "SQSREQ1")
		var out any
		switch strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.") {
		case "SendMessage":
			out = map[string]any{"MessageId": "m-1", "MD5OfMessageBody": md5Hex(in["MessageBody"].(string))}
		case "SendMessageBatch":
			var ok []any
			for _, e := range in["Entries"].([]any) {
				e := e.(map[string]any)
				ok = append(ok, map[string]any{"Id": e["Id"], "MessageId": "m-" + e["Id"].(string), "MD5OfMessageBody": md5Hex(e["MessageBody"].(string))})
			}
			out = map[string]any{"Successful": ok, "Failed": []any{}}
		case "ReceiveMessage":
			body := "secret-message-body-3"
			out = map[string]any{"Messages": []any{
				map[string]any{"MessageId": "m-3", "ReceiptHandle": "rh", "Body": body, "MD5OfBody": md5Hex(body)},
			}}
		default:
			w.WriteHeader(400)
			out = map[string]any{"__type": "com.amazonaws.sqs#InvalidAction", "message": "unknown"}
		}
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return newWire(t, srv.URL)
}

// snsServer speaks SNS's query protocol.
func snsServer(t *testing.T) *wire {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("X-Amzn-Requestid", "SNSREQ1")
		io.WriteString(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">`+
			`<PublishResult><MessageId>sns-m-1</MessageId></PublishResult>`+
			`<ResponseMetadata><RequestId>SNSREQ1</RequestId></ResponseMetadata></PublishResponse>`)
	}))
	t.Cleanup(srv.Close)
	return newWire(t, srv.URL)
}

// lambdaServer speaks Lambda's REST JSON protocol for Invoke.
func lambdaServer(t *testing.T) *wire {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Amzn-Requestid", "LAMBDAREQ1")
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("X-Amz-Invocation-Type") == "Event" {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		io.WriteString(w, `{"errorMessage":"secret-lambda-output"}`)
	}))
	t.Cleanup(srv.Close)
	return newWire(t, srv.URL)
}

func TestOtherServices(t *testing.T) {
	s3w, sqsw, snsw, lambdaw := s3Server(t), sqsServer(t), snsServer(t), lambdaServer(t)
	s3c := s3.NewFromConfig(newConfig(s3w.URL), func(o *s3.Options) { o.UsePathStyle = true })
	sqsc := sqs.NewFromConfig(newConfig(sqsw.URL))
	snsc := sns.NewFromConfig(newConfig(snsw.URL))
	lambdac := lambda.NewFromConfig(newConfig(lambdaw.URL))
	queue := sqsw.URL + "/123456789012/orders"
	rec, d := xraytest.NewDaemonRecorder(t)

	doc := d.Trace(t, rec, "services", func(ctx context.Context) {
		must := func(_ any, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("reports"), Key: aws.String("2026/q4.csv"),
			Body: strings.NewReader("secret-object-content")}))
		obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("reports"), Key: aws.String("2026/q4.csv")})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, obj.Body)
		obj.Body.Close()
		must(sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String("secret-message-body-1")}))
		must(sqsc.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queue), Entries: []sqstypes.SendMessageBatchRequestEntry{
			{Id: aws.String("a"), MessageBody: aws.String("secret-message-body-2a")},
			{Id: aws.String("b"), MessageBody: aws.String("secret-message-body-2b")},
		}}))
		must(sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue), MaxNumberOfMessages: 10}))
		must(snsc.Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:123456789012:alerts"),
			Message: aws.String("secret-sns-message")}))
		must(lambdac.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("resize"), Payload: []byte(`{"secret":"secret-payload"}`)}))
		must(lambdac.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("resize"), InvocationType: lambdatypes.InvocationTypeEvent}))
	})

	subs := calls(doc)
	want := []struct {
		service, op string
		fields      map[string]any
	}{
		{"S3", "PutObject", map[string]any{"bucket_name": "reports", "key": "2026/q4.csv", "id_2": "S3HOSTID2", "request_id": "S3REQ1"}},
		{"S3", "GetObject", map[string]any{"bucket_name": "reports", "key": "2026/q4.csv", "id_2": "S3HOSTID2"}},
		{"SQS", "SendMessage", map[string]any{"queue_url": queue, "message_id": "m-1"}},
		{"SQS", "SendMessageBatch", map[string]any{"queue_url": queue, "message_count": float64(2), "failed_count": float64(0)}},
		{"SQS", "ReceiveMessage", map[string]any{"queue_url": queue, "message_count": float64(1), "max_number_of_messages": float64(10)}},
		{"SNS", "Publish", map[string]any{"topic_arn": "arn:aws:sns:us-east-1:123456789012:alerts", "message_id": "sns-m-1", "request_id": "SNSREQ1"}},
		{"Lambda", "Invoke", map[string]any{"function_name": "resize", "status_code": float64(200), "function_error": "Unhandled"}},
		{"Lambda", "Invoke", map[string]any{"function_name": "resize", "invocation_type": "Event", "status_code": float64(202)}},
	}
	if len(subs) != len(want) {
		t.Fatalf("%d subsegments, want %d: %v", len(subs), len(want), operations(subs))
	}
	for i, w := range want {
		s := subs[i]
		if s.Name() != w.service || awsField(s, "operation") != w.op {
			t.Errorf("call %d: %s %v, want %s %s", i, s.Name(), awsField(s, "operation"), w.service, w.op)
			continue
		}
		for k, v := range w.fields {
			if got := awsField(s, k); got != v {
				t.Errorf("%s %s: aws.%s = %v, want %v", w.service, w.op, k, got, v)
			}
		}
		if id, _ := awsField(s, "request_id").(string); id == "" {
			t.Errorf("%s %s: no request_id", w.service, w.op)
		}
	}
	checkHeaders(t, s3w, doc, subs, 2)
	checkHeaders(t, sqsw, doc, subs, 3)
	checkHeaders(t, snsw, doc, subs, 1)
	checkHeaders(t, lambdaw, doc, subs, 2)
	noSecrets(t, d, "secret-")
}
