package xrayredis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xrayredis"
	"github.com/openxray/xray/xraytest"
	"github.com/redis/go-redis/v9"
)

// The server scripts/test starts (or the machine runs): a test that cannot
// reach it fails.
const addr = "127.0.0.1:6379"

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
	return tr.d.Trace(tr.t, tr.rec, "redis-test", fn)
}

func (tr *tracing) raw() string {
	var b strings.Builder
	for _, dg := range tr.d.Datagrams() {
		b.Write(dg.Raw)
	}
	return b.String()
}

func client(t *testing.T, opts *redis.Options) *redis.Client {
	t.Helper()
	if opts == nil {
		opts = &redis.Options{Addr: addr}
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func mustReach(t *testing.T) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis unreachable at %s (scripts/test starts it): %v", addr, err)
	}
}

func meta(d xraytest.Document, key string) any {
	m, _ := d.Object("metadata")["redis"].(map[string]any)
	return m[key]
}

func TestCommandsPipelinesTransactions(t *testing.T) {
	mustReach(t)
	for _, how := range []string{"NewHook", "Instrument"} {
		t.Run(how, func(t *testing.T) {
			rdb := client(t, &redis.Options{Addr: addr, DB: 2})
			if how == "NewHook" {
				rdb.AddHook(xrayredis.NewHook())
			} else {
				xrayredis.Instrument(rdb)
			}
			tr := newTracing(t)
			doc := tr.segment(func(ctx context.Context) {
				must(t, rdb.Set(ctx, "user:42:cart", "secretValue1", time.Minute).Err())
				if v, err := rdb.Get(ctx, "user:42:cart").Result(); err != nil || v != "secretValue1" {
					t.Errorf("get: %q %v", v, err)
				}
				if err := rdb.Get(ctx, "missing:7").Err(); !errors.Is(err, redis.Nil) {
					t.Errorf("missing key: %v", err)
				}
				if err := rdb.LPush(ctx, "user:42:cart", "x").Err(); err == nil {
					t.Error("LPUSH on a string must fail")
				}
				_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
					for i := range 3 {
						p.Set(ctx, fmt.Sprintf("order:%d", i), "secretValue2", time.Minute)
					}
					p.Get(ctx, "order:0")
					p.Get(ctx, "order:1")
					return nil
				})
				must(t, err)
				_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.Incr(ctx, "counter:9")
					p.Expire(ctx, "counter:9", time.Minute)
					return nil
				})
				must(t, err)
			})
			subs := doc.Subsegments()
			if len(subs) != 6 {
				t.Fatalf("%d subsegments, want 6: %v", len(subs), doc)
			}
			for _, s := range subs {
				if s.Name() != "redis@"+addr || s.String("namespace") != "remote" {
					t.Errorf("subsegment %q in %q", s.Name(), s.String("namespace"))
				}
				if meta(s, "db") != 2.0 && how == "Instrument" {
					t.Errorf("db = %v", meta(s, "db"))
				}
			}
			set, get, miss, wrong, pipe, tx := subs[0], subs[1], subs[2], subs[3], subs[4], subs[5]
			if meta(set, "command") != "set" || meta(set, "key_shape") != "user:?:cart" || set.Bool("error") || set.Bool("fault") {
				t.Errorf("set: %v", set)
			}
			if meta(get, "command") != "get" {
				t.Errorf("get: %v", get)
			}
			if miss.Bool("error") || miss.Bool("fault") || meta(miss, "key_shape") != "missing:?" {
				t.Errorf("redis.Nil must not be a failure: %v", miss)
			}
			if !wrong.Bool("error") || wrong.Bool("fault") || !strings.Contains(fmt.Sprint(wrong.Object("cause")), "WRONGTYPE") {
				t.Errorf("WRONGTYPE must set error: %v", wrong)
			}
			if meta(pipe, "commands") != 5.0 || fmt.Sprint(meta(pipe, "command_names")) != "[set ×3 get ×2]" || meta(pipe, "transaction") != nil {
				t.Errorf("pipeline: %v", pipe.Object("metadata"))
			}
			if meta(tx, "transaction") != true || meta(tx, "commands") != 2.0 || fmt.Sprint(meta(tx, "command_names")) != "[incr expire]" {
				t.Errorf("transaction: %v", tx.Object("metadata"))
			}
			raw := tr.raw()
			for _, secret := range []string{"secretValue", "user:42", "order:0", "counter:9"} {
				if strings.Contains(raw, secret) {
					t.Errorf("%q reached the daemon", secret)
				}
			}
		})
	}
}

func TestKeysOption(t *testing.T) {
	mustReach(t)
	rdb := client(t, nil)
	rdb.AddHook(xrayredis.NewHook(xrayredis.WithKeys(func(k string) string { return strings.ToUpper(k[:4]) })))
	tr := newTracing(t)
	doc := tr.segment(func(ctx context.Context) {
		rdb.Get(ctx, "user:1")
	})
	if s := doc.Subsegments()[0]; meta(s, "key") != "USER" {
		t.Errorf("key = %v", meta(s, "key"))
	}
}

func TestFailuresAreFaults(t *testing.T) {
	tr := newTracing(t)
	down := client(t, &redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
	xrayredis.Instrument(down)
	mustReach(t)
	up := client(t, &redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	xrayredis.Instrument(up)
	doc := tr.segment(func(ctx context.Context) {
		if err := down.Ping(ctx).Err(); err == nil {
			t.Error("ping of a closed port succeeded")
		}
		tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := up.BLPop(tctx, 5*time.Second, "queue:empty").Err(); err == nil {
			t.Error("BLPOP did not time out")
		}
	})
	subs := doc.Subsegments()
	if len(subs) != 2 {
		t.Fatalf("%d subsegments", len(subs))
	}
	for _, s := range subs {
		if !s.Bool("fault") || s.Bool("error") {
			t.Errorf("%s %v: want fault", s.Name(), meta(s, "command"))
		}
	}
	if subs[0].Name() != "redis@127.0.0.1:1" {
		t.Errorf("name %q", subs[0].Name())
	}
}

func TestPoolStats(t *testing.T) {
	mustReach(t)
	rdb := client(t, nil)
	xrayredis.Instrument(rdb)
	tr := newTracing(t)
	doc := tr.segment(func(ctx context.Context) {
		rdb.Ping(ctx)
		xrayredis.RecordPoolStats(ctx, rdb)
	})
	if meta(doc, "pool_total_connections") == nil || meta(doc, "pool_hits") == nil {
		t.Errorf("pool stats: %v", doc.Object("metadata"))
	}
}

// startRedis starts a redis-server of the test's own on 127.0.0.1 with
// args, and stops it when the test ends.
func startRedis(t *testing.T, port int, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found (the machine's Redis package provides it)")
	}
	dir := t.TempDir()
	all := append([]string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}, args...)
	cmd := exec.Command(bin, all...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d did not start", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// A three-node cluster of the test's own: each command is named after the
// node that answered, and a MOVED redirect the client follows is recorded
// as a redirect, not an error.
func TestCluster(t *testing.T) {
	var ports []int
	for range 3 {
		p := freePort(t)
		ports = append(ports, p)
		startRedis(t, p, "--cluster-enabled", "yes", "--cluster-config-file", fmt.Sprintf("nodes-%d.conf", p))
	}
	ctx := context.Background()
	admin := make([]*redis.Client, 3)
	for i, p := range ports {
		admin[i] = client(t, &redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	slots := [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}}
	for i, c := range admin {
		must(t, c.ClusterAddSlotsRange(ctx, slots[i][0], slots[i][1]).Err())
		if i > 0 {
			must(t, c.ClusterMeet(ctx, "127.0.0.1", fmt.Sprint(ports[0])).Err())
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok := true
		for _, c := range admin {
			info, err := c.ClusterInfo(ctx).Result()
			ok = ok && err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:3")
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cluster did not form")
		}
		time.Sleep(50 * time.Millisecond)
	}
	addrs := []string{}
	for _, p := range ports {
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", p))
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { rdb.Close() })
	xrayredis.Instrument(rdb)
	// A client whose slot map says the first node has every slot: keys of
	// the others get MOVED, and the client follows.
	stale := redis.NewClusterClient(&redis.ClusterOptions{
		ClusterSlots: func(context.Context) ([]redis.ClusterSlot, error) {
			return []redis.ClusterSlot{{Start: 0, End: 16383, Nodes: []redis.ClusterNode{{Addr: addrs[0]}}}}, nil
		},
		MaxRedirects: 3,
	})
	t.Cleanup(func() { stale.Close() })
	xrayredis.Instrument(stale)

	tr := newTracing(t)
	doc := tr.segment(func(ctx context.Context) {
		for i := range 12 {
			must(t, rdb.Set(ctx, fmt.Sprintf("k:%d", i), "v", time.Minute).Err())
		}
		// {k:5} lives on a node other than the first (slot of "k:5").
		slot := rdb.ClusterKeySlot(ctx, "k:5").Val()
		if slot <= 5460 {
			t.Fatalf("k:5 hashes to slot %d, on the first node", slot)
		}
		if err := stale.Get(ctx, "k:5").Err(); err != nil {
			t.Errorf("following MOVED: %v", err)
		}
	})
	nodes := map[string]bool{}
	var redirects, failed int
	doc.Walk(func(d, _ xraytest.Document) {
		if d.String("namespace") != "remote" {
			return
		}
		nodes[d.Name()] = true
		if meta(d, "redirect") == "MOVED" {
			redirects++
		}
		if d.Bool("error") || d.Bool("fault") {
			failed++
			t.Logf("failed: %s %v %v", d.Name(), meta(d, "command"), d.Object("cause"))
		}
	})
	if len(nodes) != 3 {
		t.Errorf("commands named after %d nodes, want 3: %v", len(nodes), nodes)
	}
	if redirects == 0 || failed != 0 {
		t.Errorf("%d MOVED redirects recorded, %d failures", redirects, failed)
	}
}

// A sentinel of the test's own watching the machine's Redis: the failover
// client's commands are named after the master it was given.
func TestSentinel(t *testing.T) {
	mustReach(t)
	port := freePort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("port %d\nbind 127.0.0.1\nsentinel monitor xraymaster 127.0.0.1 6379 1\n", port)), 0o600); err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found")
	}
	cmd := exec.Command(bin, conf, "--sentinel")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "xraymaster", SentinelAddrs: []string{fmt.Sprintf("127.0.0.1:%d", port)}})
	t.Cleanup(func() { rdb.Close() })
	xrayredis.Instrument(rdb)
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(ctx).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the failover client did not reach the master through the sentinel")
		}
		time.Sleep(50 * time.Millisecond)
	}
	tr := newTracing(t)
	doc := tr.segment(func(ctx context.Context) {
		rdb.Get(ctx, "sentinel:1")
	})
	if s := doc.Subsegments(); len(s) != 1 || s[0].Name() != "redis@"+addr {
		t.Errorf("subsegments %v", s)
	}
}

func TestShape(t *testing.T) {
	for in, want := range map[string]string{
		"user:42:cart": "user:?:cart",
		"session:3f2a9c1e-77aa-4c1b-9a11-0f5e2c3d4b5a": "session:?",
		"cache/products/list":                          "cache/products/list",
		"ann@example.com":                              "?.com",
		"{user42}.profile":                             "{?}.profile",
		"plain":                                        "plain",
		"":                                             "",
	} {
		if got := xrayredis.Shape(in); got != want {
			t.Errorf("Shape(%q) = %q, want %q", in, got, want)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
