package xrayaws_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/openxray/xray/xraytest"
)

// User is the seed's PynamoDB model, as guregu/dynamo declares it.
type User struct {
	UserID     string    `dynamo:"user_id,hash"`
	Username   string    `dynamo:"username" index:"by_username,hash"`
	Email      string    `dynamo:"email"`
	CreatedAt  time.Time `dynamo:"created_at"`
	LoginCount int       `dynamo:"login_count"`
}

// The seed's PynamoDB flow with guregu/dynamo, the Go library of its kind:
// the ORM's calls give the same subsegments as the SDK's.
func TestDynamoORM(t *testing.T) {
	reachable(t, dynaliteEndpoint())
	w := newWire(t, dynaliteEndpoint())
	db := dynamo.New(newConfig(w.URL))
	name := fmt.Sprintf("orm_users_%d", time.Now().UnixNano())
	rec, d := xraytest.NewDaemonRecorder(t)

	var condErr error
	doc := d.Trace(t, rec, "dynamodb-operations", func(ctx context.Context) {
		if err := db.CreateTable(name, User{}).OnDemand(true).Run(ctx); err != nil {
			t.Fatal(err)
		}
		waitActive(t, dynaliteEndpoint(), name)
		users := db.Table(name)
		u := User{UserID: "123", Username: "secret_john_doe", Email: "john@example.com", CreatedAt: time.Now()}
		if err := users.Put(u).Run(ctx); err != nil { // PutItem
			t.Fatal(err)
		}
		var got User
		if err := users.Get("user_id", "123").One(ctx, &got); err != nil { // GetItem
			t.Fatal(err)
		}
		var byName []User
		if err := users.Get("username", "secret_john_doe").Index("by_username").All(ctx, &byName); err != nil { // Query
			t.Fatal(err)
		}
		var all []User
		if err := users.Scan().All(ctx, &all); err != nil { // Scan
			t.Fatal(err)
		}
		if err := users.Update("user_id", "123").Add("login_count", 1).Run(ctx); err != nil { // UpdateItem
			t.Fatal(err)
		}
		batch := make([]any, 100)
		for i := range batch {
			batch[i] = User{UserID: fmt.Sprint(i), Username: fmt.Sprintf("secret_user_%d", i),
				Email: fmt.Sprintf("user%d@example.com", i), CreatedAt: time.Now()}
		}
		wrote, err := users.Batch("user_id").Write().Put(batch...).Run(ctx) // BatchWriteItem × 4
		if err != nil || wrote != 100 {
			t.Fatalf("batch wrote %d: %v", wrote, err)
		}
		condErr = users.Put(u).If("attribute_not_exists(user_id)").Run(ctx)
	})
	if !dynamo.IsCondCheckFailed(condErr) {
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
		if op == "BatchWriteItem" {
			if names, _ := awsField(s, "table_names").([]any); len(names) != 1 || names[0] != name ||
				awsField(s, "item_count") != float64(25) || awsField(s, "unprocessed_items") != float64(0) {
				t.Errorf("BatchWriteItem aws %v", s.Object("aws"))
			}
		} else if awsField(s, "table_name") != name {
			t.Errorf("%s: table_name %v", op, awsField(s, "table_name"))
		}
	}
	if awsField(subs[3], "index_name") != "by_username" || awsField(subs[3], "count") != float64(1) {
		t.Errorf("Query aws %v", subs[3].Object("aws"))
	}
	if awsField(subs[4], "count") != float64(1) {
		t.Errorf("Scan aws %v", subs[4].Object("aws"))
	}
	failed := subs[len(subs)-1]
	if !failed.Bool("error") || failed.Bool("fault") {
		t.Errorf("conditional-check failure flags: %v", failed)
	}
	checkRemoteCause(t, failed, "ConditionalCheckFailedException")
	checkHeaders(t, w, doc, subs, len(subs))
	noSecrets(t, d, "secret_", "@example.com")
}
