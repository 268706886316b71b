package sqltrace

import (
	"strings"
	"testing"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn, dbType                  string
		url, connStr, user, db, host string
	}{
		{"postgres://app:s3cret@db.internal:5432/orders?sslmode=disable&password=s3cret2", typePostgreSQL,
			"postgres://app@db.internal:5432/orders?sslmode=disable", "", "app", "orders", "db.internal"},
		{"postgresql://app@db/orders?X-Amz-Security-Token=tok123&X-Amz-Signature=sig456&X-Amz-Credential=cred789&X-Amz-Date=20260101", typePostgreSQL,
			"postgresql://app@db/orders", "", "app", "orders", "db"},
		{"host=db.internal port=5432 user=app password='pa ss\\'wd' dbname=orders sslmode=disable", typePostgreSQL,
			"", "host=db.internal port=5432 user=app dbname=orders sslmode=disable", "app", "orders", "db.internal"},
		{"host=/var/run/postgresql user=app pwd=hunter2", typePostgreSQL,
			"", "host=/var/run/postgresql user=app", "app", "app", "localhost"},
		{"app:s3cret@tcp(127.0.0.1:3306)/shop?parseTime=true&password=x", typeMySQL,
			"", "app@tcp(127.0.0.1:3306)/shop?parseTime=true", "app", "shop", "127.0.0.1"},
		{"root@unix(/run/mysqld.sock)/shop", typeMySQL, "", "root@unix(/run/mysqld.sock)/shop", "root", "shop", "localhost"},
		{"/shop", typeMySQL, "", "/shop", "", "shop", ""},
		{"Server=tcp:sql.internal,1433;Database=shop;User Id=app;Password={p;a}}ss};Encrypt=true", typeUnknown,
			"", "Server=tcp:sql.internal,1433;Database=shop;User Id=app;Encrypt=true", "app", "shop", "sql.internal"},
		{"Driver={ODBC Driver 18};Server=h;UID=u;PWD=secretpwd", typeUnknown, "", "Driver={ODBC Driver 18};Server=h;UID=u", "u", "", "h"},
		{"file:/data/app.db?cache=shared&_pragma=key('k3y')", typeSQLite, "", "/data/app.db?cache=shared", "", "app.db", ""},
		{":memory:", typeSQLite, "", ":memory:", "", "memory", ""},
		{"mysql://u:pw@h:3306/d", typeMySQL, "mysql://u@h:3306/d", "", "u", "d", "h"},
		{"%%%://bad:pw@", typePostgreSQL, "", "", "", "", ""},
	}
	for _, tt := range tests {
		got := parseDSN(tt.dsn, tt.dbType)
		want := dsnInfo{url: tt.url, connStr: tt.connStr, user: tt.user, database: tt.db, host: tt.host}
		if got != want {
			t.Errorf("parseDSN(%q)\n got %+v\nwant %+v", tt.dsn, got, want)
		}
		for _, secret := range []string{"s3cret", "hunter2", "pa ss", "tok123", "sig456", "cred789", "secretpwd", "k3y", "p;a"} {
			if strings.Contains(got.url+got.connStr, secret) {
				t.Errorf("parseDSN(%q) leaks %q", tt.dsn, secret)
			}
		}
	}
}

// TestParseDSNShapes covers the DSN shapes whose grammar the drivers
// in xraysql/drivertest cannot check: SQL Server's ADO and ODBC strings,
// Snowflake's, and engines the package does not know.
func TestParseDSNShapes(t *testing.T) {
	tests := []struct {
		dsn, dbType, connStr, host string
	}{
		{`Server=db;Database=shop;User Id=app;Password="Se;cr=et""Q";Encrypt=true`, typeSQLServer,
			`Server=db;Database=shop;User Id=app;Encrypt=true`, "db"},
		{`Server=db;Password='Se;cr=et';App=x`, typeSQLServer, `Server=db;App=x`, "db"},
		{`odbc:server=db;password={Se;cr}}et};app=x`, typeSQLServer, `server=db;app=x`, "db"},
		{`Server=db;Password="unterminated;Secret=1`, typeSQLServer, "", "db"},
		{`sqlserver://app:Secret@db:1433?database=shop&password=Secret2`, typeSQLServer, "", "db"},
		{`app:Secret@account/db/schema?warehouse=wh&authenticator=x`, typeUnknown, "", ""},
		{`app:Secret@tcp(db:3306)/shop?x=1`, typeUnknown, "app@tcp(db:3306)/shop?x=1", "db"},
		{`app:Se/cr?et:x@tcp(db:3306)/shop`, typeMySQL, "app@tcp(db:3306)/shop", "db"},
		{`app:Se://cret@tcp(db)/shop`, typeMySQL, "app@tcp(db)/shop", "db"},
		{`mysql://x@tcp(db)/shop`, typeMySQL, "", "tcp(db)"}, // go-sql-driver: password "//x"
		{`host=db password=Se\ cret user=app`, typePostgreSQL, "host=db user=app", "db"},
		{`host=db password='Se;cr{et' user=app`, typePostgreSQL, "host=db user=app", "db"},
		{`host=db options='-c secret.setting=Secret' user=app`, typePostgreSQL, "host=db user=app", "db"},
		{`host=db password='unterminated Secret`, typePostgreSQL, "", "db"},
		{`file:/x.db?_pragma_key=Secret&_key=Secret&_auth_pass=Secret&cache=shared`, typeSQLite, "/x.db?cache=shared", ""},
	}
	for _, tt := range tests {
		got := parseDSN(tt.dsn, tt.dbType)
		if got.connStr != tt.connStr || got.host != tt.host {
			t.Errorf("parseDSN(%q, %s) = %+v, want connStr %q host %q", tt.dsn, tt.dbType, got, tt.connStr, tt.host)
		}
		all := strings.ToLower(got.url + got.connStr + got.user + got.host + got.database)
		if strings.Contains(all, "secret") || strings.Contains(all, "se;") || strings.Contains(all, "se/") ||
			strings.Contains(all, "se:") || strings.Contains(all, "se\\") || strings.Contains(all, "cr=") || strings.Contains(all, "cr}") {
			t.Errorf("parseDSN(%q) leaks: %+v", tt.dsn, got)
		}
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, dbms, want string }{
		{"SELECT * FROM users WHERE name LIKE '%John%' AND age > 42 -- note\n", typePostgreSQL, "SELECT * FROM users WHERE name LIKE ? AND age > ?"},
		{"SELECT id FROM t WHERE id IN (1, 2, 3) AND ok = true AND x = $1", typePostgreSQL, "SELECT id FROM t WHERE id IN ( ? ) AND ok = ? AND x = $1"},
		{"SELECT $body$secret$body$, 'it''s'", typePostgreSQL, "SELECT ?, ?"},
		{"INSERT INTO u (a) VALUES (\"dq\") /* c */", typeMySQL, "INSERT INTO u ( a ) VALUES ( ? )"},
		{"UPDATE t SET a = :name WHERE b = ?", "", "UPDATE t SET a = :name WHERE b = ?"},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in, QuerySanitized, tt.dbms, 0); got != tt.want {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := sanitize("SELECT 'x'", QueryRaw, "", 0); got != "SELECT 'x'" {
		t.Errorf("raw = %q", got)
	}
	if got := sanitize("SELECT 1", QueryOff, "", 0); got != "" {
		t.Errorf("off = %q", got)
	}
	if got := sanitize("SELECT "+strings.Repeat("a, ", 100)+"b FROM t", QuerySanitized, "", 20); got != "SELECT a, a, a, a, a..." {
		t.Errorf("cut = %q", got)
	}
	for _, q := range []string{"CALL p(1)", "{call p(?)}", "  exec proc 1", "EXECUTE s"} {
		if !isCall(q) {
			t.Errorf("isCall(%q) = false", q)
		}
	}
	if isCall("SELECT callme FROM x") {
		t.Error("isCall(SELECT)")
	}
}

func FuzzSanitizeLeaksNoLiteral(f *testing.F) {
	f.Add("secret99", "SELECT * FROM t WHERE a = '%s'")
	f.Add("hunter2", "INSERT INTO t VALUES ($x$%s$x$)")
	f.Fuzz(func(t *testing.T, secret, format string) {
		if len(secret) < 6 || strings.ContainsAny(secret, "'\"$\\`") || !strings.Contains(format, "'%s'") {
			return
		}
		q := strings.Replace(format, "%s", secret, 1)
		for _, d := range []string{typePostgreSQL, typeMySQL, typeUnknown} {
			if out := sanitize(q, QuerySanitized, d, 0); strings.Contains(out, "'"+secret+"'") {
				t.Fatalf("%s: %q kept the quoted literal: %q", d, q, out)
			}
		}
	})
}

// FuzzParseDSN: no DSN makes the parser panic or loop, for any engine, and
// a password the DSN states plainly never comes back out.
func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{
		"postgres://u:p@h/db?sslmode=disable", "host=h password='a b' user=u", "u:p@tcp(h:3306)/db?x=1",
		`Server=h;Password="a;b";Database=d`, "file:x.db?_pragma=key('k')", "odbc:server=h;pwd={a;b}", "u:p@acct/db",
	} {
		f.Add(s, "Zq9Secret")
	}
	f.Fuzz(func(t *testing.T, dsn, secret string) {
		for _, engine := range []string{typePostgreSQL, typeMySQL, typeSQLite, typeSQLServer, typeOracle, typeUnknown} {
			parseDSN(dsn, engine)
		}
		// The plain forms, with the fuzzed secret as the password.
		if len(secret) < 4 || strings.ContainsAny(secret, "'\\\" \t\n\r;{}@:/?&=%#") {
			return
		}
		for _, c := range []struct{ dsn, engine string }{
			{"postgres://u:" + secret + "@h/db", typePostgreSQL},
			{"host=h password=" + secret + " user=u", typePostgreSQL},
			{"u:" + secret + "@tcp(h)/db", typeMySQL},
			{"Server=h;Password=" + secret + ";Database=d", typeSQLServer},
		} {
			got := parseDSN(c.dsn, c.engine)
			if strings.Contains(got.url+got.connStr+got.user+got.host+got.database, secret) {
				t.Fatalf("%q leaks %q: %+v", c.dsn, secret, got)
			}
		}
	})
}
