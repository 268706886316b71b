// Package demo runs a small traced shop against a local daemon: two HTTP
// services and an SQLite database going through the flows X-Ray users
// know, then prints each trace as a tree.
package demo

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/cmd/xray/internal/local"
	"github.com/openxray/xray/cmd/xray/internal/store"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xrayhttp"
	"github.com/openxray/xray/xraysql"
	_ "modernc.org/sqlite" // the "sqlite" driver
)

// Options configure the demo.
type Options struct {
	Local local.Options
	Once  bool
	Out   io.Writer
}

// flow is one request of the demo, one trace.
type flow struct {
	name, method, path string
}

var flows = []flow{
	{"crud", "POST", "/users"},
	{"transaction-commit", "POST", "/orders"},
	{"transaction-rollback", "POST", "/orders/invalid"},
	{"batch-insert", "POST", "/import"},
	{"unique-violation", "POST", "/users/duplicate"},
	{"slow-query", "GET", "/report"},
	{"http-chain", "GET", "/catalog"},
	{"n-plus-one", "GET", "/customers/orders"},
}

// Run runs the demo until ctx is done (or once, with Once).
func Run(ctx context.Context, o Options) error {
	out := o.Out
	if out == nil {
		out = os.Stdout
	}
	viewerURL, udp, stop, err := daemonFor(ctx, o.Local)
	if err != nil {
		return err
	}
	defer stop()

	// The database is set up outside any request: no segment, on purpose.
	if err := xray.Configure(xray.Config{DaemonAddr: udp, ServiceVersion: xray.SDKVersion, SamplingStrategy: sampling.Always,
		ContextMissingStrategy: xray.NewIgnoreErrorStrategy()}); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "openxray-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := xraysql.Open("sqlite", filepath.Join(dir, "shop.db"), xraysql.WithSlowQueryThreshold(2*time.Millisecond))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := setup(db); err != nil {
		return fmt.Errorf("demo database: %w", err)
	}

	inventory, err := serve(xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("inventory"), inventoryMux(db)))
	if err != nil {
		return err
	}
	defer inventory.Close()
	shop, err := serve(xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("storefront"), storefrontMux(db, "http://"+inventory.Addr)))
	if err != nil {
		return err
	}
	defer shop.Close()

	fmt.Fprintf(out, "OpenXRay demo: %d flows against a traced shop (storefront → inventory, SQLite)\n\n", len(flows))
	traceIDs := make([]string, 0, len(flows))
	for _, f := range flows {
		req, _ := http.NewRequestWithContext(ctx, f.method, "http://"+shop.Addr+f.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		id := strings.TrimPrefix(resp.Header.Get("X-Amzn-Trace-Id"), "Root=")
		id, _, _ = strings.Cut(id, ";")
		traceIDs = append(traceIDs, id)
	}
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := xray.Flush(fctx); err != nil {
		return err
	}
	for i, id := range traceIDs {
		tr, err := waitTrace(ctx, viewerURL, id, flows[i].name)
		if err != nil {
			return fmt.Errorf("%s: %w", flows[i].name, err)
		}
		fmt.Fprintf(out, "── %s  (%s)\n", flows[i].name, id)
		printTree(out, tr)
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "Viewer: %s/\nTry the filters  annotation.flow = \"n-plus-one\"   fault   responsetime > 0.005   service(\"inventory\")\n", viewerURL)
	if o.Once {
		return nil
	}
	fmt.Fprintln(out, "Serving until Ctrl-C.")
	<-ctx.Done()
	return nil
}

// daemonFor uses a local daemon already running at the viewer address, or
// starts one in this process.
func daemonFor(ctx context.Context, o local.Options) (viewerURL, udp string, stop func(), err error) {
	if o.HTTP == "" {
		o.HTTP = "127.0.0.1:2001"
	}
	if o.UDP == "" {
		o.UDP = "127.0.0.1:2000"
	}
	var status struct {
		Service string `json:"service"`
		UDP     string `json:"udp"`
	}
	c := &http.Client{Timeout: 500 * time.Millisecond}
	if resp, err := c.Get("http://" + o.HTTP + "/api/status"); err == nil {
		json.NewDecoder(resp.Body).Decode(&status)
		resp.Body.Close()
		if status.Service == "openxray-local" && status.UDP != "" {
			return "http://" + o.HTTP, status.UDP, func() {}, nil
		}
	}
	l, err := local.Start(ctx, o)
	if err != nil {
		return "", "", nil, err
	}
	return "http://" + l.HTTPAddr, l.Daemon.Addr().String(), func() { l.Close() }, nil
}

type server struct {
	Addr string
	srv  *http.Server
}

func (s *server) Close() { s.srv.Close() }

func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{Addr: ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}}
	go s.srv.Serve(ln)
	return s, nil
}

func setup(db *sql.DB) error {
	for _, q := range []string{
		`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE)`,
		`CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), total_cents INTEGER NOT NULL CHECK (total_cents > 0))`,
		`CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT, stock INTEGER)`,
		`INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com'), ('Grace', 'grace@example.com'), ('Linus', 'linus@example.com'), ('Barbara', 'barbara@example.com')`,
		`INSERT INTO orders (user_id, total_cents) VALUES (1, 1299), (1, 4500), (2, 800), (3, 2500), (4, 999)`,
		`INSERT INTO products VALUES ('A-1', 'Lamp', 12), ('B-2', 'Desk', 3), ('C-3', 'Chair', 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			return err
		}
	}
	return nil
}

func annotate(r *http.Request, flow string) {
	xray.AddAnnotation(r.Context(), "flow", flow)
}

func storefrontMux(db *sql.DB, inventoryURL string) *http.ServeMux {
	client := xrayhttp.Client(nil)
	m := http.NewServeMux()
	m.HandleFunc("POST /users", func(w http.ResponseWriter, r *http.Request) {
		annotate(r, "crud")
		ctx := r.Context()
		res, err := db.ExecContext(ctx, "INSERT INTO users (name, email) VALUES (?, ?)", "John Doe", "john@example.com")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		id, _ := res.LastInsertId()
		var name string
		db.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", id).Scan(&name)
		db.ExecContext(ctx, "UPDATE users SET name = ? WHERE id = ?", "John Q. Doe", id)
		rows, _ := db.QueryContext(ctx, "SELECT id, name FROM users WHERE name LIKE '%John%'")
		for rows != nil && rows.Next() {
		}
		if rows != nil {
			rows.Close()
		}
		db.ExecContext(ctx, "DELETE FROM users WHERE id = ?", id)
		w.WriteHeader(http.StatusCreated)
	})
	m.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		annotate(r, "transaction-commit")
		if err := placeOrder(r.Context(), db, 2, 3400); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	m.HandleFunc("POST /orders/invalid", func(w http.ResponseWriter, r *http.Request) {
		annotate(r, "transaction-rollback")
		// A negative total breaks the CHECK constraint: the transaction
		// rolls back and the caller gets 400.
		if err := placeOrder(r.Context(), db, 3, -5); err != nil {
			http.Error(w, "invalid order", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	m.HandleFunc("POST /import", func(w http.ResponseWriter, r *http.Request) {
		annotate(r, "batch-insert")
		ctx := r.Context()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		stmt, err := tx.PrepareContext(ctx, "INSERT INTO products (sku, name, stock) VALUES (?, ?, ?)")
		if err != nil {
			tx.Rollback()
			http.Error(w, err.Error(), 500)
			return
		}
		for i := range 5 {
			stmt.ExecContext(ctx, fmt.Sprintf("IMP-%d", i), fmt.Sprintf("Imported %d", i), i*10)
		}
		stmt.Close()
		tx.Commit()
		xray.AddMetadata(ctx, "imported", 5)
	})
	m.HandleFunc("POST /users/duplicate", func(w http.ResponseWriter, r *http.Request) {
		annotate(r, "unique-violation")
		_, err := db.ExecContext(r.Context(), "INSERT INTO users (name, email) VALUES (?, ?)", "Ada again", "ada@example.com")
		if err != nil {
			http.Error(w, "email already registered", http.StatusConflict)
			return
		}
	})
	m.HandleFunc("GET /report", func(w http.ResponseWriter, r *http.Request) {
		annotate(r, "slow-query")
		var n int
		err := db.QueryRowContext(r.Context(), `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT count(*) FROM c`).Scan(&n)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintln(w, n)
	})
	m.HandleFunc("GET /catalog", func(w http.ResponseWriter, r *http.Request) {
		annotate(r, "http-chain")
		req, _ := http.NewRequestWithContext(r.Context(), "GET", inventoryURL+"/stock?sku=all", nil)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
	m.HandleFunc("GET /customers/orders", func(w http.ResponseWriter, r *http.Request) {
		annotate(r, "n-plus-one")
		ctx := r.Context()
		rows, err := db.QueryContext(ctx, "SELECT id FROM users ORDER BY id")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		var ids []int
		for rows.Next() {
			var id int
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids { // one query per user: the N+1 pattern
			var total int
			db.QueryRowContext(ctx, "SELECT coalesce(sum(total_cents), 0) FROM orders WHERE user_id = ?", id).Scan(&total)
		}
	})
	return m
}

func placeOrder(ctx context.Context, db *sql.DB, user, cents int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO orders (user_id, total_cents) VALUES (?, ?)", user, cents); err != nil {
		tx.Rollback()
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE products SET stock = stock - 1 WHERE sku = ? AND stock > 0", "A-1"); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func inventoryMux(db *sql.DB) *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /stock", func(w http.ResponseWriter, r *http.Request) {
		rows, err := db.QueryContext(r.Context(), "SELECT sku, stock FROM products WHERE stock > 0")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer rows.Close()
		for rows.Next() {
			var sku string
			var stock int
			rows.Scan(&sku, &stock)
			fmt.Fprintf(w, "%s %d\n", sku, stock)
		}
	})
	return m
}

// waitTrace fetches a trace from the viewer's API once its segments have
// been stored.
func waitTrace(ctx context.Context, viewerURL, id, flow string) (*store.Trace, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		tr, err := fetchTrace(ctx, viewerURL, id)
		if err == nil && complete(tr) {
			return tr, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("incomplete")
			}
			return nil, fmt.Errorf("trace %s did not arrive: %w", id, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// complete reports whether every segment of the trace has arrived: one
// root, and no call to a traced service waiting for its segment.
func complete(tr *store.Trace) bool {
	if len(tr.Roots) != 1 {
		return false
	}
	ok := true
	var visit func(n *store.Node)
	visit = func(n *store.Node) {
		if h, _ := n.Fields["http"].(map[string]any); h != nil && n.Kind == "subsegment" {
			if rq, _ := h["request"].(map[string]any); rq != nil && rq["traced"] == true && len(n.Children) == 0 {
				ok = false
			}
		}
		for _, c := range n.Children {
			visit(c)
		}
	}
	visit(tr.Roots[0])
	return ok
}

func fetchTrace(ctx context.Context, viewerURL, id string) (*store.Trace, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", viewerURL+"/api/traces/"+id, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	var tr store.Trace
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		return nil, err
	}
	return &tr, nil
}

// printTree prints a trace: name, a bar placed on the trace's timeline,
// duration, flags and the statement of database calls.
func printTree(w io.Writer, tr *store.Trace) {
	total := tr.End - tr.Start
	if total <= 0 {
		total = 1e-6
	}
	const width = 24
	var visit func(n *store.Node, prefix string, last bool, depth int)
	visit = func(n *store.Node, prefix string, last bool, depth int) {
		branch, next := "├─ ", prefix+"│  "
		if last {
			branch, next = "└─ ", prefix+"   "
		}
		if depth == 0 {
			branch, next = "", ""
		}
		from := int((n.Start - tr.Start) / total * width)
		to := int((n.End - tr.Start) / total * width)
		from, to = min(max(from, 0), width-1), min(max(to, from+1), width)
		bar := strings.Repeat(" ", from) + strings.Repeat("█", to-from) + strings.Repeat(" ", width-to)
		label := prefix + branch + n.Name
		flags := ""
		if n.Fault {
			flags += " FAULT"
		}
		if n.Error {
			flags += " ERROR"
		}
		if n.Throttle {
			flags += " THROTTLE"
		}
		fmt.Fprintf(w, "%-46.46s |%s| %8.2f ms%s\n", label, bar, (n.End-n.Start)*1000, flags)
		if q, ok := n.Fields["sql"].(map[string]any); ok {
			if s, _ := q["sanitized_query"].(string); s != "" {
				if len(s) > 90 {
					s = s[:87] + "..."
				}
				fmt.Fprintf(w, "%s    sql: %s\n", next, s)
			}
		}
		for i, c := range n.Children {
			visit(c, next, i == len(n.Children)-1, depth+1)
		}
	}
	for _, r := range tr.Roots {
		visit(r, "", true, 0)
	}
	nPlusOne := map[string]int{}
	for _, s := range tr.SQL {
		if s.NPlusOne {
			nPlusOne[s.Query] = s.Repeated
		}
	}
	for q, n := range nPlusOne {
		fmt.Fprintf(w, "  ! N+1: the same statement ran %d times: %s\n", n, q)
	}
}
