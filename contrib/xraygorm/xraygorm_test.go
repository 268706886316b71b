package xraygorm_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/openxray/xray"
	"github.com/openxray/xray/contrib/xraygorm"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xraysql"
	"github.com/openxray/xray/xraytest"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	_ "github.com/jackc/pgx/v5/stdlib"
)

type User struct {
	ID     uint
	Name   string
	Email  string `gorm:"uniqueIndex;size:128"`
	Orders []Order
}

type Order struct {
	ID         uint
	UserID     uint
	TotalCents int
	Status     string `gorm:"size:32"`
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
	return tr.d.Trace(tr.t, tr.rec, "gorm-test", fn)
}

func (tr *tracing) raw() string {
	var b strings.Builder
	for _, dg := range tr.d.Datagrams() {
		b.Write(dg.Raw)
	}
	return b.String()
}

func meta(d xraytest.Document, key string) any {
	m, _ := d.Object("metadata")["sql"].(map[string]any)
	return m[key]
}

func dialectors(t *testing.T) map[string]gorm.Dialector {
	return map[string]gorm.Dialector{
		"postgres": postgres.Open("host=127.0.0.1 port=5432 user=postgres password=gormS3cret dbname=test sslmode=disable"),
		"mysql":    mysql.Open("root@tcp(127.0.0.1:3306)/test?parseTime=true"),
		"sqlite":   sqlite.Open(filepath.Join(t.TempDir(), "gorm.db")),
	}
}

func open(t *testing.T, d gorm.Dialector, opts ...xraygorm.Option) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(d, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatalf("%s unreachable (scripts/test starts the servers): %v", d.Name(), err)
	}
	sqlDB, _ := db.DB()
	t.Cleanup(func() { sqlDB.Close() })
	if err := db.Migrator().DropTable(&Order{}, &User{}); err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&User{}, &Order{}); err != nil {
		t.Fatal(err)
	}
	if err := db.Use(xraygorm.NewPlugin(opts...)); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestCRUDPreloadTransaction(t *testing.T) {
	for name, d := range dialectors(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t, d)
			tr := newTracing(t)
			doc := tr.segment(func(ctx context.Context) {
				db := db.WithContext(ctx)
				u := User{Name: "Ann Secret", Email: "ann@example.com", Orders: []Order{{TotalCents: 1299, Status: "completed"}}}
				if err := db.Create(&u).Error; err != nil {
					t.Fatal(err)
				}
				var got User
				if err := db.Preload("Orders").First(&got, u.ID).Error; err != nil || len(got.Orders) != 1 {
					t.Fatalf("preload: %v %+v", err, got)
				}
				db.Model(&got).Update("name", "Ann Renamed")
				var missing User
				if err := db.First(&missing, 999999).Error; !errors.Is(err, gorm.ErrRecordNotFound) {
					t.Fatalf("want not found, got %v", err)
				}
				err := db.Transaction(func(tx *gorm.DB) error {
					if err := tx.Create(&Order{UserID: u.ID, TotalCents: 500, Status: "new"}).Error; err != nil {
						return err
					}
					return tx.Model(&Order{}).Where("status = ?", "new").Update("status", "paid").Error
				})
				if err != nil {
					t.Fatal(err)
				}
				if err := db.Create(&User{Name: "dup", Email: "ann@example.com"}).Error; err == nil {
					t.Fatal("duplicate accepted")
				}
				db.Delete(&Order{}, "status = ?", "paid")
			})
			// GORM runs each create, update and delete in a transaction of
			// its own (SkipDefaultTransaction is off): walk the whole tree.
			var all []xraytest.Document
			doc.Walk(func(d, _ xraytest.Document) {
				if d.Object("sql") != nil {
					all = append(all, d)
				}
			})
			var ops []string
			var preload, notFound, dup, explicitTx xraytest.Document
			for _, s := range all {
				op, _ := meta(s, "operation").(string)
				if tx, _ := meta(s, "transaction").(string); tx != "" {
					op = "tx:" + tx
					if len(s.Subsegments()) == 2 {
						explicitTx = s
					}
				}
				ops = append(ops, op)
				switch {
				case op == "query" && meta(s, "table") == "orders":
					preload = s
				case op == "query" && meta(s, "rows_affected") == 0.0:
					notFound = s
				case op == "create" && s.Bool("error"):
					dup = s
				}
			}
			got := strings.Join(ops, ",")
			for _, want := range []string{"create", "query", "update", "delete", "tx:committed", "tx:rolled back"} {
				if !strings.Contains(got, want) {
					t.Errorf("operations %s lack %s", got, want)
				}
			}
			if preload == nil {
				t.Errorf("preload of orders has no subsegment of its own: %s", got)
			}
			if notFound == nil || notFound.Bool("error") || notFound.Bool("fault") {
				t.Errorf("record not found must not be a failure: %v", notFound)
			}
			if dup == nil || dup.Bool("fault") {
				t.Errorf("unique violation must set error, not fault: %v", dup)
			}
			if explicitTx == nil || meta(explicitTx, "transaction") != "committed" {
				t.Errorf("db.Transaction must be a committed subsegment holding its 2 statements: %s", got)
			}
			for _, secret := range []string{"gormS3cret", "ann@example.com", "Ann Secret", "Ann Renamed"} {
				if strings.Contains(tr.raw(), secret) {
					t.Errorf("%q reached the daemon", secret)
				}
			}
		})
	}
}

// A connection traced by xraysql is not traced twice.
func TestNoDoubleTracing(t *testing.T) {
	sqlDB, err := xraysql.Open("pgx", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", xraysql.WithoutDatabaseVersion())
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Use(xraygorm.NewPlugin()); err != nil {
		t.Fatal(err)
	}
	tr := newTracing(t)
	doc := tr.segment(func(ctx context.Context) {
		var n int
		db.WithContext(ctx).Raw("SELECT 1").Scan(&n)
	})
	if subs := doc.Subsegments(); len(subs) != 1 {
		t.Errorf("one statement made %d subsegments: %v", len(subs), doc)
	}
	var _ *sql.DB = sqlDB
}

func BenchmarkFirst(b *testing.B) {
	r, _ := xray.New(xray.Config{Emitter: xray.DiscardEmitter{}, SamplingStrategy: sampling.Always, StreamingThreshold: -1})
	for _, traced := range []bool{false, true} {
		name := "plain"
		if traced {
			name = "plugin"
		}
		b.Run(name, func(b *testing.B) {
			db, err := gorm.Open(sqlite.Open(filepath.Join(b.TempDir(), "b.db")), &gorm.Config{Logger: logger.Discard})
			if err != nil {
				b.Fatal(err)
			}
			db.AutoMigrate(&User{})
			db.Create(&User{Name: "u", Email: "u@example.com"})
			if traced {
				db.Use(xraygorm.NewPlugin())
			}
			ctx, seg := r.BeginSegment(context.Background(), "bench")
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				var u User
				db.WithContext(ctx).First(&u, 1)
				if n++; n%1000 == 0 {
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

// Raw statements through GORM keep no literal, whatever its form, on
// every engine.
func TestHostileLiteralsNotRecorded(t *testing.T) {
	queries := map[string][]string{
		"postgres": {"SELECT 1 /* a /* b */ ZqxLeak1 */", "SELECT $t$ZqxLeak2$t$", "SELECT 'it''s ZqxLeak3'::int"},
		"mysql":    {`SELECT "ZqxLeak1"`, `SELECT 'a\'ZqxLeak2'`, "SELECT 0b101 # ZqxLeak3", "SELECT 1 /*! + 'ZqxLeak4' */"},
		"sqlite":   {`SELECT "ZqxLeak1"`, "SELECT x'ZqxLeak2'", "PRAGMA key = ZqxLeak3", `INSERT INTO nowhere VALUES ("ZqxLeak4")`},
	}
	for name, d := range dialectors(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t, d)
			tr := newTracing(t)
			tr.segment(func(ctx context.Context) {
				for _, q := range queries[name] {
					db.WithContext(ctx).Exec(q)
				}
			})
			raw := tr.raw()
			for i := 1; i <= 4; i++ {
				if m := fmt.Sprintf("ZqxLeak%d", i); strings.Contains(raw, m) {
					t.Errorf("%s reached the daemon", m)
				}
			}
			if !strings.Contains(raw, "sanitized_query") {
				t.Error("no statement was recorded")
			}
		})
	}
}

// WithSQLCommenter: the statement PostgreSQL and MariaDB see running names
// the trace and the operation's subsegment; the recorded one has no
// comment.
func TestSQLCommenter(t *testing.T) {
	cases := map[string]struct {
		dialector gorm.Dialector
		observer  gorm.Dialector
		sleep     string
		activity  string
	}{
		"postgres": {
			postgres.Open("host=127.0.0.1 port=5432 user=postgres password=gormS3cret dbname=test sslmode=disable default_query_exec_mode=exec"),
			postgres.Open("host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable"),
			"SELECT pg_sleep(0.4)",
			"SELECT query FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND pid <> pg_backend_pid() LIMIT 1",
		},
		"mysql": {
			mysql.Open("root@tcp(127.0.0.1:3306)/test?parseTime=true"),
			mysql.Open("root@tcp(127.0.0.1:3306)/test"),
			"SELECT SLEEP(0.4)",
			"SELECT INFO FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP%' LIMIT 1",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			db := open(t, c.dialector, xraygorm.WithSQLCommenter())
			observer, err := gorm.Open(c.observer, &gorm.Config{Logger: logger.Discard})
			if err != nil {
				t.Fatal(err)
			}
			if o, err := observer.DB(); err == nil {
				defer o.Close()
			}
			tr := newTracing(t)
			seen := make(chan string, 1)
			doc := tr.segment(func(ctx context.Context) {
				done := make(chan struct{})
				go func() {
					defer close(done)
					db.WithContext(ctx).Exec(c.sleep)
				}()
				deadline := time.Now().Add(5 * time.Second)
				for time.Now().Before(deadline) {
					var text string
					if err := observer.Raw(c.activity).Scan(&text).Error; err == nil && text != "" {
						seen <- text
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				<-done
			})
			var text string
			select {
			case text = <-seen:
			default:
				t.Fatal("the statement was never seen running")
			}
			var sub xraytest.Document
			doc.Walk(func(d, _ xraytest.Document) {
				if d.Object("sql") != nil {
					sub = d
				}
			})
			if sub == nil {
				t.Fatalf("no sql subsegment: %v", doc)
			}
			traceID := doc.String("trace_id")
			w3c := "00-" + traceID[2:10] + traceID[11:] + "-" + sub.ID() + "-01"
			if !strings.Contains(text, "traceparent='"+w3c+"'") {
				t.Errorf("the server saw %q; want traceparent %s", text, w3c)
			}
			if q, _ := sub.Object("sql")["sanitized_query"].(string); strings.Contains(q, "traceparent") {
				t.Errorf("recorded statement holds the comment: %q", q)
			}
		})
	}
}
