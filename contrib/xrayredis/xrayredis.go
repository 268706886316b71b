// Package xrayredis traces github.com/redis/go-redis/v9: every command, and
// every pipeline or transaction, inside a segment becomes an X-Ray
// subsegment named after the server ("redis@127.0.0.1:6379"), in namespace
// "remote", so that calls to one server group together as database calls
// do.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	rdb.AddHook(xrayredis.NewHook())
//
// or, for any client, cluster and ring clients included (each node's calls
// are then named after that node):
//
//	xrayredis.Instrument(rdb)
//
// Metadata "redis" records the command's name, the database index when it
// is known, and the key's shape: the key with every part that holds a
// digit, an id or anything but letters replaced by ? (user:42:cart →
// user:?:cart). Values and whole keys are never recorded, unless
// WithKeys says how to redact a key. A pipeline records how many commands
// it sent and their names; a transaction (MULTI ... EXEC) says so.
//
// redis.Nil (a missing key) is not an error. Replies the server refuses
// (WRONGTYPE, ERR ...) set error; connection failures and timeouts set
// fault. In a cluster, MOVED and ASK replies that the client follows are
// recorded as redirects, not errors.
package xrayredis

import (
	"context"
	"errors"
	"net"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/openxray/xray"
	"github.com/redis/go-redis/v9"
)

// Option configures a hook.
type Option interface {
	apply(*config)
}

type config struct {
	name  string
	keys  func(key string) string
	db    int
	hasDB bool
	rec   *xray.Recorder
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithName names the subsegments (default "redis@<address>").
func WithName(name string) Option { return optionFunc(func(c *config) { c.name = name }) }

// WithKeys records, as metadata redis.key, what fn returns for each
// command's key: the user decides how much of a key may leave the program.
// Without it only the key's shape is recorded.
func WithKeys(fn func(key string) string) Option {
	return optionFunc(func(c *config) { c.keys = fn })
}

// WithDB records the database index (metadata redis.db). Instrument knows
// it from the client's options.
func WithDB(db int) Option { return optionFunc(func(c *config) { c.db, c.hasDB = db, true }) }

// WithRecorder makes rec (instead of the default recorder) the one that
// records the facades of Lambda invocations; nil means the default
// recorder. Commands made outside any segment are not recorded.
func WithRecorder(rec *xray.Recorder) Option { return optionFunc(func(c *config) { c.rec = rec }) }

func (c *config) recorder() *xray.Recorder {
	if c.rec != nil {
		return c.rec
	}
	return xray.Default()
}

// hook is the go-redis hook. The server's address comes from WithName, from
// Instrument, or from the connections the hook sees dialled (a failover
// client's master, for one).
type hook struct {
	cfg  config
	name atomic.Pointer[string] // "redis@addr", once known
}

var _ redis.Hook = (*hook)(nil)

// NewHook returns a hook for redis.Client.AddHook (or any client's).
func NewHook(opts ...Option) redis.Hook {
	return newHook("", opts)
}

func newHook(addr string, opts []Option) *hook {
	h := &hook{}
	for _, o := range opts {
		if o != nil {
			o.apply(&h.cfg)
		}
	}
	switch {
	case h.cfg.name != "":
		h.setName(h.cfg.name)
	case addr != "":
		h.setName("redis@" + addr)
	}
	return h
}

func (h *hook) setName(n string) { h.name.Store(&n) }

// nameOf returns the subsegment name: known, or "redis" until a
// connection has been seen.
func (h *hook) nameOf() string {
	if n := h.name.Load(); n != nil {
		return *n
	}
	return "redis"
}

// Instrument adds a hook to rdb: to a *redis.Client, named after its
// address and with its database index; to each node of a
// *redis.ClusterClient or *redis.Ring as the node is created, named after
// that node.
func Instrument(rdb redis.UniversalClient, opts ...Option) {
	perNode := func(c *redis.Client) {
		o := c.Options()
		c.AddHook(newHook(o.Addr, append([]Option{WithDB(o.DB)}, opts...)))
	}
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		c.OnNewNode(perNode)
	case *redis.Ring:
		c.OnNewNode(perNode)
	case *redis.Client:
		o := c.Options()
		addr := o.Addr
		if addr == "FailoverClient" {
			addr = "" // a sentinel-managed master: learnt when dialled
		}
		c.AddHook(newHook(addr, append([]Option{WithDB(o.DB)}, opts...)))
	default:
		rdb.AddHook(newHook("", opts))
	}
}

// DialHook learns the server's address from the connections dialled.
func (h *hook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		if err == nil && h.cfg.name == "" && conn != nil {
			if ra := conn.RemoteAddr(); ra != nil && ra.Network() != "unix" {
				if n := h.name.Load(); n == nil || *n != "redis@"+ra.String() {
					h.setName("redis@" + ra.String())
				}
			}
		}
		return conn, err
	}
}

// ProcessHook records a command.
func (h *hook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		parent := h.cfg.recorder().ParentSegment(ctx)
		if parent == nil || setup(cmd) {
			return next(ctx, cmd)
		}
		ctx, seg := parent.BeginSubsegment(ctx, h.nameOf())
		if seg == nil {
			return next(ctx, cmd)
		}
		seg.SetNamespace("remote")
		name := cmd.Name()
		seg.AddMetadataString("redis", "command", name)
		if h.cfg.hasDB {
			seg.AddMetadataInt("redis", "db", int64(h.cfg.db))
		}
		h.key(seg, cmd.Args(), name)
		err := next(ctx, cmd)
		h.finish(seg, err)
		return err
	}
}

// ProcessPipelineHook records a pipeline or transaction as one subsegment.
func (h *hook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		parent := h.cfg.recorder().ParentSegment(ctx)
		if parent == nil || !slices.ContainsFunc(cmds, func(c redis.Cmder) bool { return !setup(c) }) {
			return next(ctx, cmds)
		}
		ctx, seg := parent.BeginSubsegment(ctx, h.nameOf())
		if seg == nil {
			return next(ctx, cmds)
		}
		seg.SetNamespace("remote")
		body := cmds
		tx := len(cmds) >= 2 && cmds[0].Name() == "multi" && cmds[len(cmds)-1].Name() == "exec"
		if tx {
			body = cmds[1 : len(cmds)-1]
			seg.AddMetadataToNamespace("redis", "transaction", true)
		}
		seg.AddMetadataString("redis", "command", "pipeline")
		seg.AddMetadataInt("redis", "commands", int64(len(body)))
		seg.AddMetadataToNamespace("redis", "command_names", names(body))
		if h.cfg.hasDB {
			seg.AddMetadataInt("redis", "db", int64(h.cfg.db))
		}
		err := next(ctx, cmds)
		if err == nil {
			// A pipeline succeeds as a whole and fails command by command.
			for _, c := range body {
				if e := c.Err(); e != nil && !errors.Is(e, redis.Nil) {
					err = e
					break
				}
			}
		}
		h.finish(seg, err)
		return err
	}
}

// setup reports whether cmd is one the client sends on its own to set up a
// new connection (HELLO, AUTH, SELECT, READONLY, CLIENT SETNAME and the
// like): not the program's calls, and not recorded.
func setup(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "hello", "auth", "select", "readonly":
		return true
	case "client":
		if args := cmd.Args(); len(args) > 1 {
			sub, _ := args[1].(string)
			switch strings.ToLower(sub) {
			case "setname", "setinfo", "maint_notifications":
				return true
			}
		}
	}
	return false
}

// names lists a pipeline's command names, each once, in order, with how
// many times it ran when more than once ("get ×3").
func names(cmds []redis.Cmder) []string {
	var out []string
	count := map[string]int{}
	for _, c := range cmds {
		n := c.Name()
		if count[n] == 0 {
			out = append(out, n)
		}
		count[n]++
	}
	for i, n := range out {
		if c := count[n]; c > 1 {
			out[i] = n + " ×" + itoa(c)
		}
	}
	return out
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// keyless commands take no key as their first argument.
var keyless = map[string]bool{
	"ping": true, "echo": true, "select": true, "auth": true, "hello": true, "info": true, "time": true,
	"dbsize": true, "flushdb": true, "flushall": true, "client": true, "config": true, "cluster": true,
	"command": true, "multi": true, "exec": true, "discard": true, "script": true, "eval": true, "evalsha": true,
	"eval_ro": true, "evalsha_ro": true, "fcall": true, "fcall_ro": true, "function": true, "scan": true,
	"publish": true, "spublish": true, "subscribe": true, "psubscribe": true, "unsubscribe": true, "punsubscribe": true,
	"pubsub": true, "quit": true, "readonly": true, "readwrite": true, "role": true, "save": true, "bgsave": true,
	"lastsave": true, "shutdown": true, "slowlog": true, "memory": true, "debug": true, "wait": true, "xread": true,
	"xreadgroup": true, "acl": true, "latency": true, "object": true, "randomkey": true, "swapdb": true, "sentinel": true,
}

// key records the shape of the command's key, or what WithKeys makes of it.
func (h *hook) key(seg *xray.Segment, args []any, name string) {
	if len(args) < 2 || keyless[name] {
		return
	}
	k, ok := args[1].(string)
	if !ok {
		return
	}
	seg.AddMetadataString("redis", "key_shape", Shape(k))
	if h.cfg.keys != nil {
		seg.AddMetadataString("redis", "key", h.cfg.keys(k))
	}
}

// Shape returns key with every part (between : / . | # { } and spaces)
// that is not 1 to 32 letters, underscores or dashes replaced by ?: ids,
// numbers, e-mail addresses, tokens. "user:42:cart" → "user:?:cart".
func Shape(key string) string {
	changed := false
	start := 0
	part := func(end int) bool { return !plainPart(key[start:end]) }
	for i := 0; i <= len(key); i++ {
		if i == len(key) || isSep(key[i]) {
			if part(i) {
				changed = true
				break
			}
			start = i + 1
		}
	}
	if !changed {
		return key // no allocation for keys with no id in them
	}
	var b strings.Builder
	b.Grow(len(key))
	start = 0
	for i := 0; i <= len(key); i++ {
		if i == len(key) || isSep(key[i]) {
			if plainPart(key[start:i]) {
				b.WriteString(key[start:i])
			} else {
				b.WriteByte('?')
			}
			if i < len(key) {
				b.WriteByte(key[i])
			}
			start = i + 1
		}
	}
	return b.String()
}

func isSep(c byte) bool {
	switch c {
	case ':', '/', '.', '|', '#', '{', '}', ' ', ',', '=':
		return true
	}
	return false
}

func plainPart(p string) bool {
	if len(p) > 32 {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// finish marks the subsegment by the command's outcome and closes it.
func (h *hook) finish(seg *xray.Segment, err error) {
	if n := h.name.Load(); n != nil && seg.Name() != *n {
		seg.SetName(*n) // the first call learnt the address while it ran
	}
	switch {
	case err == nil, errors.Is(err, redis.Nil):
	case isRedirect(err):
		seg.AddMetadataString("redis", "redirect", strings.Fields(err.Error())[0])
	case isFault(err):
		seg.AddFaultFlag()
		seg.AddCause(cause(err), true)
	default:
		seg.AddErrorFlag()
		seg.AddCause(cause(err), true)
	}
	seg.Close(nil)
}

func isRedirect(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "MOVED ") || strings.HasPrefix(msg, "ASK ")
}

// isFault reports errors of the network or the server rather than of the
// command: connection failures, timeouts, a closed pool, a server that is
// loading, read-only or going down.
func isFault(err error) bool {
	var ne net.Error
	switch {
	case errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed):
		return true
	}
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, p := range []string{"LOADING ", "READONLY ", "MASTERDOWN ", "CLUSTERDOWN ", "TRYAGAIN ", "BUSY ", "OOM "} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false // the server refused the command
	}
	return true // not a reply from the server: the connection failed
}

// redisError is the recorded exception: the message with quoted values
// hidden, and the driver's type.
type redisError struct{ msg, typ string }

func (e *redisError) Error() string     { return e.msg }
func (e *redisError) ErrorType() string { return e.typ }

func cause(err error) error {
	msg := err.Error()
	if i := strings.IndexAny(msg, "'\""); i >= 0 {
		j := strings.LastIndexAny(msg, "'\"")
		if j > i {
			msg = msg[:i+1] + "?" + msg[j:]
		} else {
			msg = msg[:i+1] + "?"
		}
	}
	return &redisError{msg: msg, typ: reflect.TypeOf(err).String()}
}

// RecordPoolStats records rdb's connection pool statistics as metadata in
// namespace "redis" of the segment or subsegment in ctx: hits, misses,
// timeouts, total, idle and stale connections.
func RecordPoolStats(ctx context.Context, rdb redis.UniversalClient) {
	seg := xray.GetSegment(ctx)
	if !seg.Sampled() || rdb == nil {
		return
	}
	s := rdb.PoolStats()
	if s == nil {
		return
	}
	for _, kv := range []struct {
		key string
		val uint32
	}{
		{"pool_hits", s.Hits}, {"pool_misses", s.Misses}, {"pool_timeouts", s.Timeouts},
		{"pool_total_connections", s.TotalConns}, {"pool_idle_connections", s.IdleConns}, {"pool_stale_connections", s.StaleConns},
	} {
		seg.AddMetadataInt("redis", kv.key, int64(kv.val))
	}
}
