package drivertest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lib/pq"

	"github.com/openxray/xray/xraysql"
)

// The DSN scrubber's oracle is the drivers themselves: each case below is
// a generated DSN that the driver's own parser accepts, and the secrets
// are what that parser says it would use (password, options, keys). The
// DSN is then opened through xraysql, a connection is attempted, and no
// byte of any secret may appear in what reaches the UDP daemon.

// secretGen makes passwords out of distinctive markers and the characters
// that confuse DSN grammars, so that any piece of a secret that leaks is
// found by its marker.
type secretGen struct {
	r *rand.Rand
	n int
}

const specials = ` ;{}'"=/?:@&%#\,()$!*+[]` + "`"

func (g *secretGen) marker() string {
	g.n++
	return fmt.Sprintf("Mk%03dq", g.n%1000)
}

// next returns a secret and its markers.
func (g *secretGen) next() (string, []string) {
	var b strings.Builder
	var markers []string
	for range 1 + g.r.IntN(4) {
		m := g.marker()
		markers = append(markers, m)
		b.WriteString(m)
		for range g.r.IntN(3) {
			b.WriteByte(specials[g.r.IntN(len(specials))])
		}
		if g.r.IntN(5) == 0 {
			b.WriteString("://")
		}
	}
	return b.String(), markers
}

// oracleCase is a DSN and the markers of every secret its driver reads.
type oracleCase struct {
	dsn     string
	markers []string
}

// libpqQuote writes v as a libpq value: quoted with escapes, or bare with
// backslashes before spaces, quotes and backslashes.
func libpqQuote(r *rand.Rand, v string) string {
	if r.IntN(2) == 0 {
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	}
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`, " ", `\ `, "\t", `\	`).Replace(v)
}

func genPostgres(g *secretGen, parse func(string) (password string, options string, err error)) []oracleCase {
	var out []oracleCase
	for len(out) < 150 {
		pw, markers := g.next()
		var dsn string
		var optMarkers []string
		if g.r.IntN(3) == 0 {
			// URL form: the password escaped in user info or a parameter.
			u := url.URL{Scheme: "postgres", Host: "127.0.0.1:1", Path: "/test"}
			q := url.Values{"sslmode": {"disable"}, "connect_timeout": {"2"}}
			if g.r.IntN(2) == 0 {
				u.User = url.UserPassword("postgres", pw)
			} else {
				u.User = url.User("postgres")
				q.Set("password", pw)
			}
			if g.r.IntN(2) == 0 {
				m := g.marker()
				optMarkers = append(optMarkers, m)
				q.Set("options", "-c search_path="+m)
			}
			u.RawQuery = q.Encode()
			dsn = u.String()
		} else {
			parts := []string{"host=127.0.0.1", "port=1", "user=postgres", "dbname=test", "sslmode=disable", "connect_timeout=2",
				"password=" + libpqQuote(g.r, pw)}
			if g.r.IntN(2) == 0 {
				m := g.marker()
				optMarkers = append(optMarkers, m)
				parts = append(parts, "options="+libpqQuote(g.r, "-c search_path="+m+" -c work_mem=64MB"))
			}
			g.r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
			dsn = strings.Join(parts, strings.Repeat(" ", 1+g.r.IntN(2)))
		}
		got, opts, err := parse(dsn)
		if err != nil {
			continue // the driver refuses it: nothing to trace
		}
		c := oracleCase{dsn: dsn}
		for _, m := range markers {
			if strings.Contains(got, m) {
				c.markers = append(c.markers, m)
			}
		}
		for _, m := range optMarkers {
			if strings.Contains(opts, m) {
				c.markers = append(c.markers, m)
			}
		}
		if len(c.markers) > 0 {
			out = append(out, c)
		}
	}
	return out
}

func genMySQL(g *secretGen) []oracleCase {
	var out []oracleCase
	for len(out) < 150 {
		pw, markers := g.next()
		params := []string{"timeout=2s"}
		if g.r.IntN(2) == 0 {
			params = append(params, "parseTime=true")
		}
		dsn := "root:" + pw + "@tcp(127.0.0.1:1)/test?" + strings.Join(params, "&")
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			continue
		}
		c := oracleCase{dsn: dsn}
		for _, m := range markers {
			if strings.Contains(cfg.Passwd, m) {
				c.markers = append(c.markers, m)
			}
		}
		if len(c.markers) > 0 {
			out = append(out, c)
		}
	}
	return out
}

func genSQLite(g *secretGen, dir string) []oracleCase {
	var out []oracleCase
	for i := range 60 {
		pw, _ := g.next()
		m := g.marker()
		pw += m
		key := []string{"_pragma", "_pragma_key", "_key", "_auth_pass", "_pragma"}[g.r.IntN(5)]
		val := pw
		if key == "_pragma" {
			val = "key('" + strings.ReplaceAll(pw, "'", "''") + "')"
		}
		q := url.Values{key: {val}, "_txlock": {"immediate"}}
		dsn := "file:" + filepath.Join(dir, fmt.Sprintf("k%d.db", i)) + "?" + q.Encode()
		// modernc.org/sqlite reads its parameters with url.ParseQuery.
		_, rawQuery, _ := strings.Cut(dsn, "?")
		parsed, err := url.ParseQuery(rawQuery)
		if err != nil || !strings.Contains(parsed.Get(key), m) {
			continue
		}
		out = append(out, oracleCase{dsn: dsn, markers: []string{m}})
	}
	return out
}

func TestDSNSecretsNeverRecorded(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	g := &secretGen{r: r}
	drivers := []struct {
		name  string
		cases []oracleCase
	}{
		{"pgx", genPostgres(g, func(dsn string) (string, string, error) {
			cfg, err := pgconn.ParseConfig(dsn)
			if err != nil {
				return "", "", err
			}
			return cfg.Password, cfg.RuntimeParams["options"] + cfg.RuntimeParams["search_path"], nil
		})},
		{"postgres", genPostgres(g, func(dsn string) (string, string, error) {
			cfg, err := pq.NewConfig(dsn)
			if err != nil {
				return "", "", err
			}
			return cfg.Password, fmt.Sprint(cfg.Options, cfg.Runtime), nil
		})},
		{"mysql", genMySQL(g)},
		{"sqlite", genSQLite(g, t.TempDir())},
	}
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			if len(d.cases) < 50 {
				t.Fatalf("only %d DSNs the driver accepts", len(d.cases))
			}
			tr := newTracing(t)
			doc := tr.segment("dsn-oracle", func(ctx context.Context) {
				for i, c := range d.cases {
					db, err := xraysql.Open(d.name, c.dsn, xraysql.WithName(fmt.Sprintf("case%d", i)), xraysql.WithoutDatabaseVersion())
					if err != nil {
						t.Errorf("case %d: %v", i, err)
						continue
					}
					cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
					_, _ = db.ExecContext(cctx, "SELECT 1")
					cancel()
					db.Close()
				}
			})
			recorded := 0
			for _, s := range sqlSubsegments(doc) {
				var i int
				if _, err := fmt.Sscanf(s.Name(), "case%d", &i); err != nil {
					continue
				}
				recorded++
				block := fmt.Sprint(s.Object("sql"))
				for _, m := range d.cases[i].markers {
					if strings.Contains(block, m) {
						t.Errorf("DSN %q: secret piece %q recorded in %s", d.cases[i].dsn, m, block)
					}
				}
			}
			if recorded < len(d.cases) {
				t.Errorf("%d of %d cases recorded an sql block", recorded, len(d.cases))
			}
			raw := tr.rawDatagrams()
			for _, c := range d.cases {
				for _, m := range c.markers {
					if strings.Contains(raw, m) {
						t.Errorf("DSN %q: secret piece %q reached the daemon", c.dsn, m)
					}
				}
			}
		})
	}
}
