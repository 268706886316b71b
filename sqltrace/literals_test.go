package sqltrace

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// The marker stands for a secret; numeric forms carry digits of their own.
const marker = "ZqxSecret"

// literalForms lists, per engine, every literal and comment form of its
// dialect with the marker inside (%s), including the forms go-sqllexer
// alone let through.
var literalForms = map[string][]string{
	typePostgreSQL: {
		`'%s'`, `'it''s %s'`, `E'a\'%s'`, `e'\\%s'`, `E'\'' || '%s'`, `U&'%s'`, `B'%s'`, `X'%s'`, `N'%s'`,
		`$$%s$$`, `$tag$%s$tag$`, `$a$ $$ %s $a$`, `$$%s`, `$t$%s`, `'%s`,
		`/* %s */`, `/* a /* b */ %s */`, `/*/* /* */ %s */ */`, `/* %s`, `-- %s` + "\n", `--%s`,
		`'%s'::text`, `'{%s}'::jsonb`, `ARRAY['%s']`, `'a' '%s'`,
	},
	typeMySQL: {
		`'%s'`, `"%s"`, `'it''s %s'`, `'it\'s %s'`, `"a\"%s"`, `'a\\' , '%s'`, `_utf8mb4'%s'`, `n'%s'`, `x'%s'`, `b'%s'`,
		`/* %s */`, `/*! %s */`, `/* a /* b */ %s */`, `# %s` + "\n", `-- %s` + "\n", `'%s`, `"%s`,
		`IDENTIFIED BY %s`, `IDENTIFIED BY '%s'`, `IDENTIFIED WITH mysql_native_password BY '%s'`, `IDENTIFIED BY "%s"`,
	},
	typeSQLite: {
		`'%s'`, `"%s"`, `'it''s %s'`, `x'%s'`, `/* %s */`, `/* %s`, `-- %s`, `'%s`, `"%s`,
		`VALUES ("%s")`, `= "%s"`, `PRAGMA key = %s`, `PRAGMA key = '%s'`, `PRAGMA key = "%s"`, `PRAGMA rekey = %s`,
		`PRAGMA main.key=%s`, `PRAGMA hexkey = "%s"`, `ATTACH DATABASE 'x.db' AS x KEY %s`,
	},
	typeSQLServer: {
		`'%s'`, `N'%s'`, `'it''s %s'`, `/* %s */`, `/* a /* b */ %s */`, `-- %s`, `'%s`, `0x%s`,
	},
	typeOracle: {
		`'%s'`, `q'[%s]'`, `q'[it's %s]'`, `Q'{%s}'`, `q'!a'b %s!'`, `N'%s'`, `/* %s */`, `-- %s`,
		`IDENTIFIED BY %s`, `IDENTIFIED BY "%s"`,
	},
}

// numberForms are numeric literals whose digits are the secret.
var numberForms = []string{
	"73915", "7391.5", ".73915", "73915.", "7.3915e10", "73915E-3", "0x73915", "-0x73915", "0X73915",
	"0b1011", "0B1011", "0o7391", "73_915", "1_073_915", "7.3_915",
}

// templates place a literal where statements put them.
var templates = []string{
	"SELECT * FROM users WHERE a = %s",
	"SELECT %s",
	"INSERT INTO t (a, b) VALUES (%s, 1)",
	"UPDATE t SET a = %s WHERE id = $1",
	"SELECT a FROM t WHERE b IN (%s, 2) -- tail",
	"CREATE USER u %s",
	"%s",
	"SELECT 1; %s",
	"WITH x AS (SELECT %s) SELECT * FROM x",
}

func TestSanitizeHidesEveryLiteralForm(t *testing.T) {
	engines := []string{typePostgreSQL, typeMySQL, typeSQLite, typeSQLServer, typeOracle, typeUnknown}
	check := func(t *testing.T, engine, q, secret string) {
		t.Helper()
		out := sanitize(q, QuerySanitized, engine, 0)
		if strings.Contains(strings.ToLower(out), strings.ToLower(secret)) {
			t.Errorf("%s: %q\n    recorded %q", engine, q, out)
		}
	}
	for _, engine := range engines {
		forms := literalForms[engine]
		if engine == typeUnknown {
			// An unknown engine gets every dialect's forms.
			for _, f := range literalForms {
				forms = append(forms, f...)
			}
		}
		for _, form := range forms {
			lit := strings.Replace(form, "%s", marker, 1)
			tmpls := templates
			if strings.HasPrefix(form, "PRAGMA") || strings.HasPrefix(form, "ATTACH") {
				tmpls = []string{"%s", "SELECT 1; %s", "%s; SELECT 1"}
			}
			for _, tmpl := range tmpls {
				check(t, engine, strings.Replace(tmpl, "%s", lit, 1), marker)
			}
		}
		for _, n := range numberForms {
			secret := strings.TrimLeft(n, "-.")
			secret = secret[:min(4, len(secret))]
			if engine == typeOracle && strings.Contains(n, "_") {
				continue
			}
			for _, tmpl := range templates {
				q := strings.Replace(tmpl, "%s", n, 1)
				if out := sanitize(q, QuerySanitized, engine, 0); strings.Contains(out, secret) {
					t.Errorf("%s: %q\n    recorded %q", engine, q, out)
				}
			}
		}
	}
}

// TestSanitizeRandomMixes builds statements from random mixes of every
// form and ordinary SQL, the marker in one of them, and checks it never
// survives: property testing with a fixed seed, so a failure reproduces.
func TestSanitizeRandomMixes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"SELECT", "a", ",", "FROM", "t", "WHERE", "=", "(", ")", "AND", "$1", "?", ":name", "\n", " ", "\"col\"", "`col`", "[col]", "t.x", "::int", "||", "-", "+"}
	// Forms left open (an unterminated quote or comment) change how the
	// rest reads, so they only come last.
	open := func(f string) bool {
		i := strings.Index(f, "%s")
		return strings.HasSuffix(f, "%s") && strings.ContainsAny(f[:i], "'\"$*")
	}
	for engine, forms := range literalForms {
		for range 3000 {
			var b strings.Builder
			n := 1 + r.IntN(8)
			secretAt := r.IntN(n)
			for i := range n {
				f := forms[r.IntN(len(forms))]
				for open(f) && i != n-1 {
					f = forms[r.IntN(len(forms))]
				}
				if i == secretAt {
					// (After FROM, SQLite reads "..." as a table name.)
					b.WriteString("= " + strings.Replace(f, "%s", marker, 1))
				} else if r.IntN(3) == 0 {
					b.WriteString(strings.Replace(f, "%s", "x", 1))
				} else {
					b.WriteString(pieces[r.IntN(len(pieces))])
				}
				b.WriteByte(" \n\t"[r.IntN(3)])
			}
			q := b.String()
			if out := sanitize(q, QuerySanitized, engine, 0); strings.Contains(strings.ToLower(out), strings.ToLower(marker)) {
				t.Fatalf("%s: %q\n    recorded %q", engine, q, out)
			}
		}
	}
}

func TestSanitizeKeepsIdentifiers(t *testing.T) {
	tests := []struct{ engine, in, want string }{
		// SQLite reads "id" as a string when no column has that name.
		{typeSQLite, `SELECT "id", "t"."x" FROM "users" WHERE "users"."name" = ?`, `SELECT ?, "t"."x" FROM "users" WHERE "users"."name" = ?`},
		{typePostgreSQL, `SELECT "Id" FROM "Users" WHERE x = 1 /* a /* b */ c */`, `SELECT "Id" FROM "Users" WHERE x = ?`},
		{typeMySQL, "SELECT `id` FROM `t2` WHERE a = 0b101 AND b = 1_000", "SELECT `id` FROM `t2` WHERE a = ? AND b = ?"},
		{typeSQLServer, "SELECT [id] FROM [t] WHERE a = N'x'", "SELECT [id] FROM [t] WHERE a = N ?"},
		{typePostgreSQL, "SELECT a FROM t2 WHERE b = $1 AND c = $2", "SELECT a FROM t2 WHERE b = $1 AND c = $2"},
		{typePostgreSQL, "CREATE TABLE t (id int, password text)", "CREATE TABLE t ( id int, password text )"},
		{typeMySQL, "CREATE USER bob IDENTIFIED BY hunter2", "CREATE USER bob IDENTIFIED BY ?"},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in, QuerySanitized, tt.engine, 0); got != tt.want {
			t.Errorf("%s: sanitize(%q)\n got %q\nwant %q", tt.engine, tt.in, got, tt.want)
		}
	}
}

func FuzzHideLiterals(f *testing.F) {
	for _, forms := range literalForms {
		for _, form := range forms {
			f.Add(strings.Replace(form, "%s", marker, 1))
		}
	}
	f.Fuzz(func(t *testing.T, q string) {
		for _, engine := range []string{typePostgreSQL, typeMySQL, typeSQLite, typeSQLServer, typeOracle, typeUnknown} {
			out := sanitize(q, QuerySanitized, engine, 0)
			if strings.ContainsRune(out, '\'') {
				t.Fatalf("%s: %q recorded a quote: %q", engine, q, out)
			}
		}
	})
}

func TestUnsanitizableStatementKeepsItsVerb(t *testing.T) {
	if got := leadingWord("  select 'x"); got != "SELECT ..." {
		t.Errorf("leadingWord = %q", got)
	}
	if got := leadingWord("'x"); got != "..." {
		t.Errorf("leadingWord = %q", got)
	}
}
