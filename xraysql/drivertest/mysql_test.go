package drivertest

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray/xraysql"
)

func setupMySQL(t *testing.T) *sql.DB {
	t.Helper()
	ensureMySQLUser(t)
	db, err := xraysql.Open("mysql", myDSN())
	must(t, err)
	t.Cleanup(func() { db.Close() })
	for _, q := range []string{
		"DROP TABLE IF EXISTS xray_profiles",
		"DROP TABLE IF EXISTS xray_users",
		"CREATE TABLE xray_users (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64), email VARCHAR(128) UNIQUE, active BOOL, created_at DATETIME)",
		"CREATE TABLE xray_profiles (user_id INT, email VARCHAR(128), FOREIGN KEY (user_id) REFERENCES xray_users(id))",
		"INSERT INTO xray_users (name, email, active, created_at) VALUES ('Eve', 'eve@example.com', true, NOW())",
		"INSERT INTO xray_profiles (user_id, email) VALUES (1, 'eve@profile.example.com')",
	} {
		_, err := db.Exec(q)
		must(t, err)
	}
	return db
}

// The seed's MySQL flow: a parameterized select and a join. The driver
// answers driver.ErrSkip for statements with arguments (no client-side
// interpolation), and database/sql prepares them instead: that must make
// one subsegment per call, not two, and no error.
func TestMySQLJoin(t *testing.T) {
	db := setupMySQL(t)
	tr := newTracing(t)
	doc := tr.segment("mysql-operations", func(ctx context.Context) {
		rows, err := db.QueryContext(ctx, "SELECT * FROM xray_users WHERE active = ?", true)
		must(t, err)
		for rows.Next() {
		}
		must(t, rows.Close())
		rows, err = db.QueryContext(ctx, `
			SELECT u.id, u.name, p.email
			FROM xray_users u
			JOIN xray_profiles p ON u.id = p.user_id
			WHERE u.created_at > ? AND u.name <> 'Mallory'`, time.Now().Add(-30*24*time.Hour))
		must(t, err)
		n := 0
		for rows.Next() {
			n++
		}
		must(t, rows.Close())
		if n != 1 {
			t.Errorf("join read %d rows", n)
		}
	})
	qs := queries(doc)
	if len(qs) != 2 {
		t.Fatalf("got %d query subsegments, want 2 (one per call): %v", len(qs), doc)
	}
	join := qs[1]
	b := join.Object("sql")
	if b["sanitized_query"] != "SELECT u.id, u.name, p.email FROM xray_users u JOIN xray_profiles p ON u.id = p.user_id WHERE u.created_at > ? AND u.name <> ?" {
		t.Errorf("sanitized_query = %q", b["sanitized_query"])
	}
	if b["database_type"] != "MySQL" || b["user"] != myUser || join.Name() != "test@127.0.0.1" || b["preparation"] != "statement" {
		t.Errorf("%s: %v", join.Name(), b)
	}
	if cs, _ := b["connection_string"].(string); strings.Contains(cs, myPassword) || !strings.Contains(cs, "tcp(127.0.0.1:3306)/test") {
		t.Errorf("connection_string = %q", cs)
	}
	if metadata(join, "sql", "rows_read") != 1.0 || join.Bool("error") || join.Bool("fault") {
		t.Errorf("join subsegment: %v", join)
	}
	if strings.Contains(tr.rawDatagrams(), "Mallory") {
		t.Error("a literal reached the daemon")
	}
}

func TestMySQLDuplicateKey(t *testing.T) {
	db := setupMySQL(t)
	tr := newTracing(t)
	doc := tr.segment("dup", func(ctx context.Context) {
		_, err := db.ExecContext(ctx, "INSERT INTO xray_users (name, email) VALUES (?, ?)", "Eve2", "eve@example.com")
		if err == nil {
			t.Fatal("duplicate accepted")
		}
	})
	sub := queries(doc)[0]
	if !sub.Bool("error") || sub.Bool("fault") {
		t.Errorf("flags: error=%v fault=%v", sub.Bool("error"), sub.Bool("fault"))
	}
	ex := exceptions(sub)
	if len(ex) != 1 || !strings.Contains(ex[0]["message"].(string), "1062") || ex[0]["type"] != "*mysql.MySQLError" {
		t.Errorf("cause = %v", ex)
	}
	// MySQL's message quotes the duplicate value; it must not leave.
	if strings.Contains(tr.rawDatagrams(), "eve@example.com") {
		t.Error("the duplicate value reached the daemon")
	}
}

func TestMySQLVersionAndOptions(t *testing.T) {
	ensureMySQLUser(t)
	db, err := xraysql.Open("mysql", myDSN(), xraysql.WithQuery(xraysql.QueryOff), xraysql.WithName("shop-db"))
	must(t, err)
	defer db.Close()
	tr := newTracing(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		doc := tr.segment("v", func(ctx context.Context) {
			var one int
			must(t, db.QueryRowContext(ctx, "SELECT 1").Scan(&one))
		})
		q := queries(doc)
		if len(q) == 0 {
			// QueryOff: no statement text, so look at every sql block.
			q = sqlSubsegments(doc)
		}
		s := q[len(q)-1]
		if s.Name() != "shop-db" {
			t.Fatalf("name = %q", s.Name())
		}
		if _, ok := s.Object("sql")["sanitized_query"]; ok {
			t.Fatal("QueryOff recorded the statement")
		}
		if v, ok := s.Object("sql")["database_version"].(string); ok {
			if !strings.Contains(v, "MariaDB") {
				t.Errorf("database_version = %q", v)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("database_version never appeared")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
