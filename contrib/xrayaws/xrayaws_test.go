package xrayaws_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xrayaws"
	"github.com/openxray/xray/header"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
)

// The DynamoDB servers are dynalite (DynamoDB's API on LevelDB, no
// transactions) and AWS's DynamoDB Local (transactions and PartiQL), which
// scripts/test installs and starts; the variables override their
// addresses.
func dynaliteEndpoint() string {
	if v := os.Getenv("XRAY_TEST_DYNALITE_ENDPOINT"); v != "" {
		return v
	}
	return "http://127.0.0.1:8000"
}

func dynamoDBLocalEndpoint() string {
	if v := os.Getenv("XRAY_TEST_DYNAMODB_LOCAL_ENDPOINT"); v != "" {
		return v
	}
	return "http://127.0.0.1:8001"
}

// newConfig returns an instrumented config for endpoint: static
// credentials, us-east-1, and retries without waiting.
func newConfig(endpoint string, opts ...xrayaws.Option) aws.Config {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDOPENXRAYTEST", "not-a-real-secret", ""),
		BaseEndpoint: aws.String(endpoint),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.RateLimiter = ratelimit.None
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			})
		},
	}
	xrayaws.Instrument(&cfg, opts...)
	return cfg
}

// wire is a reverse proxy in front of a server that keeps the
// X-Amzn-Trace-Id header of every request it forwards.
type wire struct {
	URL     string
	mu      sync.Mutex
	headers []string
	parents []string // traceparent
}

func newWire(t *testing.T, target string) *wire {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	w := &wire{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.headers = append(w.headers, r.Header.Get(header.Name))
		w.parents = append(w.parents, r.Header.Get(header.TraceParentName))
		w.mu.Unlock()
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	w.URL = srv.URL
	return w
}

func (w *wire) Headers() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.headers)
}

func (w *wire) Reset() {
	w.mu.Lock()
	w.headers, w.parents = nil, nil
	w.mu.Unlock()
}

// reachable fails the test when a server the test needs does not answer.
func reachable(t *testing.T, endpoint string) {
	t.Helper()
	u, _ := url.Parse(endpoint)
	c, err := net.DialTimeout("tcp", u.Host, 3*time.Second)
	if err != nil {
		t.Fatalf("%s does not answer (scripts/test starts it): %v", endpoint, err)
	}
	c.Close()
}

func awsField(d xraytest.Document, k string) any { return d.Object("aws")[k] }

// calls returns the AWS subsegments of a trace, in the order they began.
func calls(doc xraytest.Document) []xraytest.Document {
	var out []xraytest.Document
	doc.Walk(func(d, _ xraytest.Document) {
		if d.String("namespace") == "aws" {
			out = append(out, d)
		}
	})
	slices.SortStableFunc(out, func(a, b xraytest.Document) int {
		x, y := a["start_time"].(float64), b["start_time"].(float64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	return out
}

func operations(docs []xraytest.Document) []string {
	var ops []string
	for _, d := range docs {
		op, _ := awsField(d, "operation").(string)
		ops = append(ops, op)
	}
	return ops
}

// checkCall checks what every successful call records.
func checkCall(t *testing.T, d xraytest.Document, service, op string) {
	t.Helper()
	if d.Name() != service || d.String("namespace") != "aws" {
		t.Errorf("%s: name %q namespace %q", op, d.Name(), d.String("namespace"))
	}
	if got := awsField(d, "operation"); got != op {
		t.Errorf("operation %v, want %s", got, op)
	}
	if got := awsField(d, "region"); got != "us-east-1" {
		t.Errorf("%s: region %v", op, got)
	}
	if id, _ := awsField(d, "request_id").(string); id == "" {
		t.Errorf("%s: no request_id", op)
	}
	if got := awsField(d, "retries"); got != float64(0) {
		t.Errorf("%s: retries %v", op, got)
	}
	resp, _ := d.Object("http")["response"].(map[string]any)
	if resp["status"] != float64(200) {
		t.Errorf("%s: http.response %v", op, resp)
	}
	if d.Bool("error") || d.Bool("fault") || d.Bool("throttle") {
		t.Errorf("%s: flags set on a successful call: %v", op, d)
	}
}

// checkHeaders checks that every request on the wire carried the trace
// header, with one of the AWS subsegments as parent, and that there were
// at least n of them.
func checkHeaders(t *testing.T, w *wire, doc xraytest.Document, subs []xraytest.Document, n int) {
	t.Helper()
	ids := map[string]bool{}
	for _, s := range subs {
		ids[s.ID()] = true
	}
	hs := w.Headers()
	if len(hs) < n {
		t.Errorf("%d requests on the wire, want %d", len(hs), n)
	}
	w.mu.Lock()
	parents := slices.Clone(w.parents)
	w.mu.Unlock()
	for i, v := range hs {
		h := header.FromString(v)
		if h.TraceID != doc.String("trace_id") || !ids[h.ParentID] || h.SamplingDecision != header.Sampled {
			t.Errorf("trace header %q: want root %s, an AWS subsegment as parent, Sampled=1", v, doc.String("trace_id"))
		}
		// The same context in W3C form, for OpenTelemetry-instrumented
		// endpoints.
		if parents[i] != h.TraceParent() {
			t.Errorf("traceparent %q, want %q", parents[i], h.TraceParent())
		}
	}
}

// noSecrets fails if any datagram the daemon received holds one of the
// item values.
func noSecrets(t *testing.T, d *xraytest.Daemon, secrets ...string) {
	t.Helper()
	for _, dg := range d.Datagrams() {
		for _, s := range secrets {
			if strings.Contains(string(dg.Raw), s) {
				t.Errorf("an item value (%q) reached the daemon: %s", s, dg.Raw)
			}
		}
	}
}

func createUsers(ctx context.Context, client *dynamodb.Client, table string) error {
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("user_id"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("username"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("user_id"), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String("by_username"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("username"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
		BillingMode: types.BillingModePayPerRequest,
	})
	return err
}

// waitActive waits, with a client that is not traced, until a new table
// takes writes.
func waitActive(t *testing.T, endpoint, table string) {
	t.Helper()
	cfg := newConfig(endpoint)
	cfg.APIOptions = nil
	w := dynamodb.NewTableExistsWaiter(dynamodb.NewFromConfig(cfg), func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 10 * time.Millisecond
		o.MaxDelay = 50 * time.Millisecond
	})
	if err := w.Wait(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func user(i int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"user_id":     &types.AttributeValueMemberS{Value: fmt.Sprintf("u%03d", i)},
		"username":    &types.AttributeValueMemberS{Value: fmt.Sprintf("secret_user_%d", i)},
		"email":       &types.AttributeValueMemberS{Value: fmt.Sprintf("user%d@example.com", i)},
		"login_count": &types.AttributeValueMemberN{Value: "0"},
	}
}

// The seed's DynamoDB flow with the plain SDK against dynalite.
func TestSeedFlow(t *testing.T) {
	reachable(t, dynaliteEndpoint())
	w := newWire(t, dynaliteEndpoint())
	client := dynamodb.NewFromConfig(newConfig(w.URL))
	table := fmt.Sprintf("users_%d", time.Now().UnixNano())
	rec, d := xraytest.NewDaemonRecorder(t)

	var condErr error
	doc := d.Trace(t, rec, "dynamodb-operations", func(ctx context.Context) {
		if err := createUsers(ctx, client, table); err != nil {
			t.Fatal(err)
		}
		waitActive(t, dynaliteEndpoint(), table)
		must := func(_ any, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: user(123),
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal}))
		must(client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
			Key:                  map[string]types.AttributeValue{"user_id": &types.AttributeValueMemberS{Value: "u123"}},
			ProjectionExpression: aws.String("user_id, #n"), ExpressionAttributeNames: map[string]string{"#n": "username"}}))
		must(client.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(table), IndexName: aws.String("by_username"),
			KeyConditionExpression:    aws.String("username = :u"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":u": &types.AttributeValueMemberS{Value: "secret_user_123"}},
			Limit:                     aws.Int32(10), Select: types.SelectAllAttributes,
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal}))
		must(client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)}))
		must(client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(table),
			Key:                       map[string]types.AttributeValue{"user_id": &types.AttributeValueMemberS{Value: "u123"}},
			UpdateExpression:          aws.String("SET login_count = login_count + :one"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}}))
		// 100 users, 25 per request (DynamoDB's limit).
		for b := range 4 {
			var reqs []types.WriteRequest
			for i := b * 25; i < (b+1)*25; i++ {
				reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: user(i)}})
			}
			must(client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{table: reqs}}))
		}
		_, condErr = client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: user(123),
			ConditionExpression: aws.String("attribute_not_exists(user_id)")})
	})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(condErr, &ccf) {
		t.Fatalf("conditional put: %v", condErr)
	}

	subs := calls(doc)
	want := []string{"CreateTable", "PutItem", "GetItem", "Query", "Scan", "UpdateItem",
		"BatchWriteItem", "BatchWriteItem", "BatchWriteItem", "BatchWriteItem", "PutItem"}
	if got := operations(subs); !slices.Equal(got, want) {
		t.Fatalf("operations %v, want %v", got, want)
	}
	for _, s := range subs[:len(subs)-1] {
		op := awsField(s, "operation").(string)
		checkCall(t, s, "DynamoDB", op)
		if op != "BatchWriteItem" && awsField(s, "table_name") != table {
			t.Errorf("%s: table_name %v", op, awsField(s, "table_name"))
		}
	}
	if cc, _ := awsField(subs[1], "consumed_capacity").(map[string]any); cc["table_name"] != table || cc["capacity_units"] == nil {
		t.Errorf("PutItem consumed_capacity %v", awsField(subs[1], "consumed_capacity"))
	}
	if awsField(subs[2], "consistent_read") != true || awsField(subs[2], "projection_expression") != "user_id, #n" {
		t.Errorf("GetItem aws %v", subs[2].Object("aws"))
	}
	q := subs[3]
	if awsField(q, "index_name") != "by_username" || awsField(q, "limit") != float64(10) ||
		awsField(q, "select") != "ALL_ATTRIBUTES" || awsField(q, "count") != float64(1) ||
		awsField(q, "scanned_count") != float64(1) || awsField(q, "consumed_capacity") == nil {
		t.Errorf("Query aws %v", q.Object("aws"))
	}
	if awsField(subs[4], "count") != float64(1) || awsField(subs[4], "scanned_count") != float64(1) {
		t.Errorf("Scan aws %v", subs[4].Object("aws"))
	}
	for _, b := range subs[6:10] {
		if names, _ := awsField(b, "table_names").([]any); len(names) != 1 || names[0] != table ||
			awsField(b, "item_count") != float64(25) || awsField(b, "unprocessed_items") != float64(0) {
			t.Errorf("BatchWriteItem aws %v", b.Object("aws"))
		}
	}
	failed := subs[len(subs)-1]
	if !failed.Bool("error") || failed.Bool("fault") || failed.Bool("throttle") {
		t.Errorf("conditional-check failure flags: %v", failed)
	}
	checkRemoteCause(t, failed, "ConditionalCheckFailedException")
	if resp, _ := failed.Object("http")["response"].(map[string]any); resp["status"] != float64(400) {
		t.Errorf("conditional-check failure http %v", failed.Object("http"))
	}
	checkHeaders(t, w, doc, subs, len(subs))
	noSecrets(t, d, "secret_user", "@example.com")
}

func checkRemoteCause(t *testing.T, d xraytest.Document, code string) {
	t.Helper()
	cause := d.Object("cause")
	exs, _ := cause["exceptions"].([]any)
	if len(exs) == 0 {
		t.Fatalf("no exception in %v", d)
	}
	ex := exs[0].(map[string]any)
	if ex["type"] != code || ex["remote"] != true {
		t.Errorf("exception %v, want remote %s", ex, code)
	}
}

// Transactions and PartiQL, which dynalite lacks, against DynamoDB Local.
func TestTransactionsAndPartiQL(t *testing.T) {
	reachable(t, dynamoDBLocalEndpoint())
	w := newWire(t, dynamoDBLocalEndpoint())
	client := dynamodb.NewFromConfig(newConfig(w.URL))
	suffix := time.Now().UnixNano()
	orders, stock := fmt.Sprintf("orders_%d", suffix), fmt.Sprintf("stock-%d", suffix)
	rec, d := xraytest.NewDaemonRecorder(t)
	key := func(id string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}
	}
	doc := d.Trace(t, rec, "dynamodb-transactions", func(ctx context.Context) {
		for _, name := range []string{orders, stock} {
			if _, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
				TableName:            aws.String(name),
				AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
				KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
				BillingMode:          types.BillingModePayPerRequest,
			}); err != nil {
				t.Fatal(err)
			}
		}
		must := func(_ any, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(stock), Item: map[string]types.AttributeValue{
			"id": &types.AttributeValueMemberS{Value: "widget"}, "qty": &types.AttributeValueMemberN{Value: "10"}}}))
		must(client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(orders), Item: map[string]types.AttributeValue{
				"id": &types.AttributeValueMemberS{Value: "o1"}, "card": &types.AttributeValueMemberS{Value: "secret-card-4111"}}}},
			{Update: &types.Update{TableName: aws.String(stock), Key: key("widget"),
				UpdateExpression:          aws.String("SET qty = qty - :n"),
				ConditionExpression:       aws.String("qty >= :n"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: "1"}}}},
		}}))
		must(client.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
			{Get: &types.Get{TableName: aws.String(orders), Key: key("o1")}},
			{Get: &types.Get{TableName: aws.String(stock), Key: key("widget")}},
		}}))
		must(client.ExecuteStatement(ctx, &dynamodb.ExecuteStatementInput{
			Statement: aws.String(fmt.Sprintf(`INSERT INTO "%s" VALUE {'id': 'o2', 'card': 'secret-card-5500'}`, orders))}))
		must(client.ExecuteStatement(ctx, &dynamodb.ExecuteStatementInput{
			Statement:  aws.String(fmt.Sprintf(`SELECT id FROM "%s" WHERE id = ?`, orders)),
			Parameters: []types.AttributeValue{&types.AttributeValueMemberS{Value: "o2"}}}))
		must(client.BatchExecuteStatement(ctx, &dynamodb.BatchExecuteStatementInput{Statements: []types.BatchStatementRequest{
			{Statement: aws.String(fmt.Sprintf(`SELECT * FROM "%s" WHERE id = 'o1'`, orders))},
			{Statement: aws.String(fmt.Sprintf(`SELECT * FROM "%s" WHERE id = 'widget'`, stock))},
		}}))
		must(client.ExecuteTransaction(ctx, &dynamodb.ExecuteTransactionInput{TransactStatements: []types.ParameterizedStatement{
			{Statement: aws.String(fmt.Sprintf(`UPDATE "%s" SET card = 'secret-card-3400' WHERE id = 'o2'`, orders))},
			{Statement: aws.String(fmt.Sprintf(`UPDATE "%s" SET qty = 8 WHERE id = 'widget'`, stock))},
		}}))
	})

	subs := calls(doc)
	want := []string{"CreateTable", "CreateTable", "PutItem", "TransactWriteItems", "TransactGetItems",
		"ExecuteStatement", "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"}
	if got := operations(subs); !slices.Equal(got, want) {
		t.Fatalf("operations %v, want %v", got, want)
	}
	for _, s := range subs {
		checkCall(t, s, "DynamoDB", awsField(s, "operation").(string))
	}
	both := []any{orders, stock}
	for _, i := range []int{3, 4, 7, 8} {
		names, _ := awsField(subs[i], "table_names").([]any)
		if !slices.Equal(names, both) || awsField(subs[i], "item_count") != float64(2) {
			t.Errorf("%v: aws %v, want table_names %v and item_count 2", awsField(subs[i], "operation"), subs[i].Object("aws"), both)
		}
	}
	for _, i := range []int{5, 6} {
		if awsField(subs[i], "table_name") != orders {
			t.Errorf("ExecuteStatement: aws %v", subs[i].Object("aws"))
		}
	}
	checkHeaders(t, w, doc, subs, len(subs))
	noSecrets(t, d, "secret-card", "'o2'")
}

// A call made without a segment runs untraced; an unsampled segment
// sends Sampled=0 downstream and nothing to the daemon.
func TestUntraced(t *testing.T) {
	reachable(t, dynaliteEndpoint())
	w := newWire(t, dynaliteEndpoint())
	client := dynamodb.NewFromConfig(newConfig(w.URL))
	if _, err := client.ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	if hs := w.Headers(); len(hs) != 1 || hs[0] != "" {
		t.Errorf("headers without a segment: %q", hs)
	}

	w.Reset()
	d := xraytest.NewDaemon(t)
	rec, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Never})
	if err != nil {
		t.Fatal(err)
	}
	ctx, seg := rec.BeginSegment(context.Background(), "unsampled")
	if _, err := client.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	seg.Close(nil)
	rec.Flush(context.Background())
	hs := w.Headers()
	if len(hs) != 1 {
		t.Fatalf("headers %q", hs)
	}
	if h := header.FromString(hs[0]); h.TraceID != seg.TraceID() || h.SamplingDecision != header.NotSampled {
		t.Errorf("unsampled header %q", hs[0])
	}
	if n := len(d.Settle(t, 5*time.Second)); n != 0 {
		t.Errorf("%d datagrams for an unsampled segment", n)
	}
}

// Instrumenting twice records each call once.
func TestInstrumentTwice(t *testing.T) {
	reachable(t, dynaliteEndpoint())
	cfg := newConfig(dynaliteEndpoint())
	xrayaws.Instrument(&cfg)
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { xrayaws.AppendMiddlewares(&o.APIOptions) })
	rec, d := xraytest.NewDaemonRecorder(t)
	doc := d.Trace(t, rec, "twice", func(ctx context.Context) {
		if _, err := client.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(5)}); err != nil {
			t.Fatal(err)
		}
	})
	subs := calls(doc)
	if len(subs) != 1 {
		t.Fatalf("%d subsegments for one call", len(subs))
	}
	if awsField(subs[0], "limit") != float64(5) || awsField(subs[0], "table_count") == nil {
		t.Errorf("ListTables aws %v", subs[0].Object("aws"))
	}
}

// WithoutParameters keeps the operation and IDs only.
func TestWithoutParameters(t *testing.T) {
	reachable(t, dynaliteEndpoint())
	client := dynamodb.NewFromConfig(newConfig(dynaliteEndpoint(), xrayaws.WithoutParameters()))
	rec, d := xraytest.NewDaemonRecorder(t)
	doc := d.Trace(t, rec, "bare", func(ctx context.Context) {
		client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("no_such_table")})
	})
	subs := calls(doc)
	if len(subs) != 1 {
		t.Fatalf("%d subsegments", len(subs))
	}
	if awsField(subs[0], "table_name") != nil || awsField(subs[0], "operation") != "DescribeTable" {
		t.Errorf("aws %v", subs[0].Object("aws"))
	}
	if !subs[0].Bool("error") {
		t.Errorf("ResourceNotFoundException: no error flag")
	}
	checkRemoteCause(t, subs[0], "ResourceNotFoundException")
}
