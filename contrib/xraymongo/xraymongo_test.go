package xraymongo_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xraymongo"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The server is FerretDB (MongoDB's wire protocol on SQLite), which
// scripts/test builds and starts; XRAY_TEST_MONGODB_URI overrides it.
func uri() string {
	if v := os.Getenv("XRAY_TEST_MONGODB_URI"); v != "" {
		return v
	}
	return "mongodb://127.0.0.1:27017/"
}

func connect(t *testing.T, u string) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(xraymongo.Client().ApplyURI(u).SetServerSelectionTimeout(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	return c
}

type tracing struct {
	t   *testing.T
	rec *xray.Recorder
	d   *xraytest.Daemon
}

func newTracing(t *testing.T) *tracing {
	r, d := xraytest.NewDaemonRecorder(t)
	return &tracing{t: t, rec: r, d: d}
}

func (tr *tracing) segment(fn func(ctx context.Context)) xraytest.Document {
	tr.t.Helper()
	return tr.d.Trace(tr.t, tr.rec, "mongodb-operations", fn)
}

func md(d xraytest.Document, k string) any {
	m, _ := d.Object("metadata")["mongodb"].(map[string]any)
	return m[k]
}

// The seed's MongoDB flow.
func TestSeedFlow(t *testing.T) {
	client := connect(t, uri())
	db := client.Database("xraytest")
	users := db.Collection("users")
	users.Drop(context.Background())
	tr := newTracing(t)
	doc := tr.segment(func(ctx context.Context) {
		if _, err := users.InsertOne(ctx, bson.M{"name": "John Secret", "email": "john@example.com", "status": "active", "age": 41}); err != nil {
			t.Fatal(err)
		}
		users.InsertOne(ctx, bson.M{"name": "Jane Hidden", "email": "jane@example.com", "status": "inactive", "age": 37})
		cur, err := users.Find(ctx, bson.M{"status": "active", "age": bson.M{"$gt": 30}},
			options.Find().SetProjection(bson.M{"name": 1, "email": 1}).SetLimit(100))
		if err != nil {
			t.Fatal(err)
		}
		var found []bson.M
		cur.All(ctx, &found)
		if len(found) != 1 {
			t.Errorf("found %d", len(found))
		}
		agg, err := users.Aggregate(ctx, mongo.Pipeline{
			{{Key: "$match", Value: bson.M{"status": "active"}}},
			{{Key: "$group", Value: bson.M{"_id": "$status", "n": bson.M{"$sum": 1}}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		agg.Close(ctx)
		res, err := users.UpdateMany(ctx, bson.M{"age": bson.M{"$lt": 40}}, bson.M{"$set": bson.M{"status": "dormant-secret"}})
		if err != nil || res.ModifiedCount != 1 {
			t.Fatalf("update: %+v %v", res, err)
		}
		if n, err := users.CountDocuments(ctx, bson.M{"status": "active"}); err != nil || n != 1 {
			t.Errorf("count: %d %v", n, err)
		}
		if _, err := users.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.M{"email": 1}, Options: options.Index().SetUnique(true)}); err != nil {
			t.Fatal(err)
		}
		_, err = users.InsertOne(ctx, bson.M{"email": "john@example.com"})
		if !mongo.IsDuplicateKeyError(err) {
			t.Fatalf("want a duplicate key error, got %v", err)
		}
		users.DeleteOne(ctx, bson.M{"email": "jane@example.com"})
	})
	byCmd := map[string][]xraytest.Document{}
	for _, s := range doc.Subsegments() {
		cmd, _ := md(s, "command").(string)
		byCmd[cmd] = append(byCmd[cmd], s)
		if s.String("namespace") != "remote" || s.Name() != "xraytest@127.0.0.1:27017" {
			t.Errorf("%s: name %q namespace %q", cmd, s.Name(), s.String("namespace"))
		}
	}
	for _, cmd := range []string{"insert", "find", "aggregate", "update", "createIndexes", "delete"} {
		if len(byCmd[cmd]) == 0 {
			t.Errorf("no %s subsegment: %v", cmd, byCmd)
		}
	}
	find := byCmd["find"][0]
	if md(find, "filter") != `{"status": "?", "age": {"$gt": "?"}}` && md(find, "filter") != `{"age": {"$gt": "?"}, "status": "?"}` {
		t.Errorf("find filter shape = %v", md(find, "filter"))
	}
	if md(find, "collection") != "users" || md(find, "projection") == nil {
		t.Errorf("find: %v", find.Object("metadata"))
	}
	if p, _ := md(byCmd["aggregate"][0], "pipeline").(string); !strings.Contains(p, `"$match": {"status": "?"}`) || !strings.Contains(p, `"$group"`) {
		t.Errorf("pipeline shape = %v", p)
	}
	upd := byCmd["update"][0]
	if md(upd, "modified") != 1.0 || !strings.Contains(md(upd, "update").(string), `"$set"`) {
		t.Errorf("update: %v", upd.Object("metadata"))
	}
	var dup xraytest.Document
	for _, s := range byCmd["insert"] {
		if s.Bool("error") {
			dup = s
		}
	}
	if dup == nil || dup.Bool("fault") {
		t.Fatalf("duplicate key must set error: %v", byCmd["insert"])
	}
	ex := dup.Object("cause")["exceptions"].([]any)[0].(map[string]any)
	if !strings.Contains(ex["message"].(string), "11000") {
		t.Errorf("cause = %v", ex)
	}
	raw := ""
	for _, dg := range tr.d.Datagrams() {
		raw += string(dg.Raw)
	}
	for _, secret := range []string{"John Secret", "john@example.com", "Jane Hidden", "jane@example.com", "dormant-secret", "inactive"} {
		if strings.Contains(raw, secret) {
			t.Errorf("%q reached the daemon", secret)
		}
	}
}

func TestClosedPortIsFault(t *testing.T) {
	client, err := mongo.Connect(xraymongo.Client().ApplyURI("mongodb://127.0.0.1:1/").SetServerSelectionTimeout(300 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	tr := newTracing(t)
	tr.segment(func(ctx context.Context) {
		if err := client.Database("x").RunCommand(ctx, bson.M{"ping": 1}).Err(); err == nil {
			t.Fatal("ping to a closed port succeeded")
		}
	})
	// The driver fails server selection before sending a command: no
	// command event, so no subsegment, and nothing hangs or panics.
}

func TestNoSegment(t *testing.T) {
	client := connect(t, uri())
	if err := client.Database("xraytest").RunCommand(context.Background(), bson.M{"ping": 1}).Err(); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkCommand(b *testing.B) {
	client, err := mongo.Connect(xraymongo.Client().ApplyURI(uri()))
	if err != nil {
		b.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	coll := client.Database("xraytest").Collection("bench")
	r, _ := xray.New(xray.Config{Emitter: xray.DiscardEmitter{}, SamplingStrategy: sampling.Always, StreamingThreshold: -1})
	ctx, seg := r.BeginSegment(context.Background(), "bench")
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		var out bson.M
		coll.FindOne(ctx, bson.M{"status": "active", "age": bson.M{"$gt": 30}}).Decode(&out)
		if n++; n%1000 == 0 {
			b.StopTimer()
			seg.Close(nil)
			ctx, seg = r.BeginSegment(context.Background(), "bench")
			b.StartTimer()
		}
	}
	seg.Close(nil)
}

// BenchmarkMonitor is the monitor's own cost per command: Started and
// Succeeded for a find with a small filter, query shape included.
func BenchmarkMonitor(b *testing.B) {
	cmd, _ := bson.Marshal(bson.D{{Key: "find", Value: "users"}, {Key: "filter", Value: bson.D{{Key: "status", Value: "active"}, {Key: "age", Value: bson.D{{Key: "$gt", Value: 30}}}}}, {Key: "limit", Value: 1}})
	reply, _ := bson.Marshal(bson.D{{Key: "ok", Value: 1}})
	m := xraymongo.NewMonitor()
	for _, sampled := range []bool{false, true} {
		name := "unsampled"
		s := sampling.Never
		if sampled {
			name, s = "sampled", sampling.Always
		}
		b.Run(name, func(b *testing.B) {
			r, _ := xray.New(xray.Config{Emitter: xray.DiscardEmitter{}, SamplingStrategy: s, StreamingThreshold: -1})
			ctx, seg := r.BeginSegment(context.Background(), "bench")
			b.ReportAllocs()
			var id int64
			for b.Loop() {
				id++
				m.Started(ctx, &event.CommandStartedEvent{Command: cmd, DatabaseName: "app", CommandName: "find", RequestID: id, ConnectionID: "127.0.0.1:27017[-1]"})
				m.Succeeded(ctx, &event.CommandSucceededEvent{CommandFinishedEvent: event.CommandFinishedEvent{CommandName: "find", DatabaseName: "app", RequestID: id, ConnectionID: "127.0.0.1:27017[-1]"}, Reply: reply})
				if id%1000 == 0 {
					b.StopTimer()
					seg.Close(nil)
					ctx, seg = r.BeginSegment(context.Background(), "bench")
					b.StartTimer()
				}
			}
			seg.Close(nil)
		})
	}
}

func TestPoolMetadataAndRedaction(t *testing.T) {
	var seen bson.Raw
	client, err := mongo.Connect(xraymongo.Client(xraymongo.WithRedactedCommands(func(cmd bson.Raw) any {
		seen = cmd
		return "redacted"
	})).ApplyURI(uri()).SetServerSelectionTimeout(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	tr := newTracing(t)
	doc := tr.segment(func(ctx context.Context) {
		client.Database("xraytest").Collection("pool").FindOne(ctx, bson.M{"x": 1})
	})
	sub := doc.Subsegments()[0]
	if md(sub, "pool_checked_out") == nil || md(sub, "pool_wait_ms") == nil {
		t.Errorf("pool metadata: %v", sub.Object("metadata"))
	}
	if md(sub, "command_document") != "redacted" {
		t.Errorf("redacted command: %v", md(sub, "command_document"))
	}
	for _, k := range []string{"lsid", "$clusterTime", "$db", "signature"} {
		if _, err := seen.LookupErr(k); err == nil {
			t.Errorf("the redaction function saw %s", k)
		}
	}
}

// WithAnnotations makes command, database and collection annotations, and
// nothing else; without it there are none.
func TestAnnotations(t *testing.T) {
	for _, on := range []bool{true, false} {
		var opts []xraymongo.Option
		if on {
			opts = append(opts, xraymongo.WithAnnotations())
		}
		client, err := mongo.Connect(xraymongo.Client(opts...).ApplyURI(uri()).SetServerSelectionTimeout(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer client.Disconnect(context.Background())
		tr := newTracing(t)
		doc := tr.segment(func(ctx context.Context) {
			client.Database("xraytest").Collection("users").FindOne(ctx, bson.M{"email": "ann@example.com"})
		})
		ann := doc.Subsegments()[0].Object("annotations")
		want := map[string]any{"mongodb_command_name": "find", "mongodb_database_name": "xraytest", "mongodb_collection_name": "users"}
		if !on {
			want = nil
		}
		if len(ann) != len(want) {
			t.Errorf("annotations %v, want %v", ann, want)
		}
		for k, v := range want {
			if ann[k] != v {
				t.Errorf("annotation %s = %v, want %v", k, ann[k], v)
			}
		}
		if err := xraytest.Validate(doc); err != nil {
			t.Error(err)
		}
	}
}
