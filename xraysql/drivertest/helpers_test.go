package drivertest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraytest"
)

// Passwords in the DSNs below must never reach a datagram. PostgreSQL's
// trust authentication accepts any password; MariaDB gets a user created
// with this one.
const (
	pgPassword = "pgS3cretPW"
	myPassword = "myS3cretPW"
	myUser     = "xraytest"
)

func pgURL() string {
	if v := os.Getenv("XRAY_TEST_POSTGRES_DSN"); v != "" {
		return v
	}
	return "postgres://postgres:" + pgPassword + "@127.0.0.1:5432/test?sslmode=disable&application_name=xraytest"
}

func pgKeyValue() string {
	return "host=127.0.0.1 port=5432 user=postgres password='" + pgPassword + "' dbname=test sslmode=disable"
}

func myRootDSN() string {
	if v := os.Getenv("XRAY_TEST_MYSQL_DSN"); v != "" {
		return v
	}
	return "root@tcp(127.0.0.1:3306)/test"
}

func myDSN() string {
	if v := os.Getenv("XRAY_TEST_MYSQL_DSN"); v != "" {
		return v
	}
	return myUser + ":" + myPassword + "@tcp(127.0.0.1:3306)/test?parseTime=true"
}

// mustReach fails the test loudly when a server the tests need is down:
// scripts/test starts them, and a skipped database test would hide a
// broken integration.
func mustReach(t testing.TB, driverName, dsn string) {
	t.Helper()
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		t.Fatalf("%s: %v", driverName, err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("%s server unreachable at %s (scripts/test starts it): %v", driverName, redact(dsn), err)
	}
}

func redact(dsn string) string {
	for _, p := range []string{pgPassword, myPassword} {
		dsn = strings.ReplaceAll(dsn, p, "***")
	}
	return dsn
}

// ensureMySQLUser creates the password-protected user the MySQL tests use.
func ensureMySQLUser(t testing.TB) {
	t.Helper()
	mustReach(t, "mysql", myRootDSN())
	if os.Getenv("XRAY_TEST_MYSQL_DSN") != "" {
		return
	}
	db, err := sql.Open("mysql", myRootDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s'", myUser, myPassword),
		fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'localhost' IDENTIFIED BY '%s'", myUser, myPassword),
		fmt.Sprintf("GRANT ALL ON test.* TO '%s'@'%%'", myUser),
		fmt.Sprintf("GRANT ALL ON test.* TO '%s'@'localhost'", myUser),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustReach(t, "mysql", myDSN())
}

// tracing is a recorder sending to a real UDP daemon.
type tracing struct {
	t      testing.TB
	rec    *xray.Recorder
	daemon *xraytest.Daemon
}

func newTracing(t testing.TB) *tracing {
	t.Helper()
	d := xraytest.NewDaemon(t)
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return &tracing{t: t, rec: r, daemon: d}
}

// segment runs fn in a new segment and returns its assembled document.
func (tr *tracing) segment(name string, fn func(ctx context.Context)) xraytest.Document {
	tr.t.Helper()
	ctx, seg := tr.rec.BeginSegment(context.Background(), name)
	fn(ctx)
	seg.Close(nil)
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.rec.Flush(fctx); err != nil {
		tr.t.Fatal(err)
	}
	// Subsegments closed before the segment travel in it or ahead of it;
	// the segment's own document comes last.
	return tr.daemon.WaitTrace(tr.t, seg.TraceID(), 5*time.Second)
}

// rawDatagrams returns every byte the daemon received.
func (tr *tracing) rawDatagrams() string {
	var b strings.Builder
	for _, dg := range tr.daemon.Datagrams() {
		b.Write(dg.Raw)
		b.WriteByte('\n')
	}
	return b.String()
}

// sqlSubsegments returns the subsegments with an sql block, depth first.
func sqlSubsegments(doc xraytest.Document) []xraytest.Document {
	var out []xraytest.Document
	doc.Walk(func(d, _ xraytest.Document) {
		if d.Object("sql") != nil {
			out = append(out, d)
		}
	})
	return out
}

// queries returns the subsegments that recorded a statement.
func queries(doc xraytest.Document) []xraytest.Document {
	var out []xraytest.Document
	for _, s := range sqlSubsegments(doc) {
		if s.Object("sql")["sanitized_query"] != nil {
			out = append(out, s)
		}
	}
	return out
}

func metadata(d xraytest.Document, ns, key string) any {
	m, _ := d.Object("metadata")[ns].(map[string]any)
	return m[key]
}

func exceptions(d xraytest.Document) []map[string]any {
	c := d.Object("cause")
	if c == nil {
		return nil
	}
	list, _ := c["exceptions"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		out = append(out, e.(map[string]any))
	}
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
