package sqltrace

import (
	"net"
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// dsnInfo is what a data source name tells, with secrets removed.
type dsnInfo struct {
	url      string // for URL-form DSNs
	connStr  string // for the other forms
	user     string
	database string
	host     string // without port
}

// parseDSN reads dsn with the grammar of the driver behind dbType: libpq
// key=value pairs or postgres:// URLs for PostgreSQL, go-sql-driver's
// user:pass@net(addr)/db?k=v for MySQL, file paths and file: URIs for
// SQLite, ADO/ODBC key=value;... or sqlserver:// URLs for SQL Server.
// Every password, key, token and signature is left out.
//
// Two rules keep a secret out when the grammar is not what the driver will
// use. A DSN whose form is not certain (an engine the package does not
// know, a shape no grammar here accepts, an unterminated quote) records at
// most the user, host and database, never the raw string. And whatever is
// recorded is checked against the secrets every grammar here would read
// from the same DSN: if one of them appears, url and connection_string are
// dropped.
func parseDSN(dsn, dbType string) dsnInfo {
	dsn = strings.TrimSpace(dsn)
	if dsn == "" {
		return dsnInfo{}
	}
	var info dsnInfo
	switch dbType {
	case typeSQLite:
		info = parseSQLite(dsn)
	case typePostgreSQL:
		// pgconn and lib/pq both take a URL only with one of these two
		// schemes; anything else is key=value.
		if hasPrefixFold(dsn, "postgres://") || hasPrefixFold(dsn, "postgresql://") {
			info = parseURL(dsn)
		} else {
			info = parseKeyValue(dsn)
		}
	case typeMySQL:
		if urlScheme(dsn) == "mysql" || urlScheme(dsn) == "mariadb" {
			info = parseURL(dsn)
		} else {
			info = parseMySQL(dsn)
		}
	case typeSQLServer:
		switch {
		case urlScheme(dsn) != "":
			info = parseURL(dsn)
		case hasPrefixFold(dsn, "odbc:"):
			info = parseADO(dsn[len("odbc:"):])
		default:
			info = parseADO(dsn)
		}
	default:
		switch {
		case urlScheme(dsn) != "":
			info = parseURL(dsn)
		case looksMySQL(dsn):
			info = parseMySQL(dsn)
		case looksADO(dsn):
			info = parseADO(dsn)
		}
		// Any other shape (Snowflake's user:pass@account/db, a driver's
		// own syntax) is not read at all.
	}
	return guard(dsn, dbType, info)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// urlScheme returns the lower-cased scheme when dsn starts with
// scheme://, as RFC 3986 spells a scheme, and "" otherwise: a MySQL DSN
// whose password holds "://" has a colon or an @ before it.
func urlScheme(dsn string) string {
	i := strings.Index(dsn, "://")
	if i <= 0 {
		return ""
	}
	for j := 0; j < i; j++ {
		c := dsn[j]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case j > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return ""
		}
	}
	return strings.ToLower(dsn[:i])
}

// sensitive reports whether a parameter may hold a secret.
func sensitive(key string) bool {
	k := strings.ToLower(strings.TrimSpace(key))
	for _, s := range []string{"pass", "pwd", "secret", "token", "signature", "credential", "auth",
		"key", "salt", "cert", "private", "options", "pragma"} {
		// key: SQLCipher's _key and _pragma_key, sslkey, apikey, the
		// serverPubKey path; options: libpq's -c settings; pragma: every
		// SQLite pragma, key among them; cert: paths to key material.
		if strings.Contains(k, s) {
			return true
		}
	}
	return k == "x-amz-date" // RDS IAM tokens as query parameters
}

func parseURL(dsn string) dsnInfo {
	u, err := url.Parse(dsn)
	if err != nil || u.Opaque != "" {
		// A URL we cannot parse may still hold user:pass@: keep nothing.
		return dsnInfo{}
	}
	info := dsnInfo{host: u.Hostname()}
	if u.User != nil {
		info.user = u.User.Username()
		u.User = url.User(info.user)
		if info.user == "" {
			u.User = nil
		}
	}
	q := u.Query()
	for k := range q {
		if sensitive(k) {
			q.Del(k)
		}
	}
	for _, k := range []string{"user", "username", "user id"} {
		if v := q.Get(k); v != "" && info.user == "" {
			info.user = v
		}
	}
	u.RawQuery = q.Encode()
	u.Fragment, u.RawFragment = "", ""
	info.database = strings.TrimPrefix(u.Path, "/")
	if i := strings.IndexByte(info.database, '/'); i >= 0 {
		info.database = info.database[:i]
	}
	if info.database == "" {
		info.database = q.Get("database")
		if info.database == "" {
			info.database = q.Get("dbname")
		}
	}
	info.url = u.String()
	return info
}

func looksMySQL(dsn string) bool {
	return strings.Contains(dsn, "@tcp(") || strings.Contains(dsn, "@unix(") ||
		strings.HasPrefix(dsn, "tcp(") || strings.HasPrefix(dsn, "unix(")
}

// looksADO reports whether dsn starts as key=value; pairs do.
func looksADO(dsn string) bool {
	k, _, ok := strings.Cut(dsn, "=")
	return ok && strings.Contains(dsn, ";") && !strings.ContainsAny(k, ";'\"{}@/:")
}

// parseMySQL reads [user[:password]@][net[(addr)]]/dbname[?params] the way
// go-sql-driver/mysql's ParseDSN does: the last slash ends the address (a
// password may hold slashes), the last @ before it ends the user info, and
// the first colon in that starts the password.
func parseMySQL(dsn string) dsnInfo {
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		return dsnInfo{}
	}
	var info dsnInfo
	prefix := dsn[:slash]
	addrPart := prefix
	if at := strings.LastIndexByte(prefix, '@'); at >= 0 {
		userinfo := prefix[:at]
		addrPart = prefix[at+1:]
		info.user, _, _ = strings.Cut(userinfo, ":")
	}
	dbname, params, _ := strings.Cut(dsn[slash+1:], "?")
	if db, err := url.PathUnescape(dbname); err == nil {
		info.database = db
	}
	if open := strings.IndexByte(addrPart, '('); open >= 0 {
		if !strings.HasSuffix(addrPart, ")") {
			return dsnInfo{} // the driver refuses it too
		}
		addr := addrPart[open+1 : len(addrPart)-1]
		if strings.HasPrefix(addrPart, "unix") {
			info.host = "localhost"
		} else if h, _, err := net.SplitHostPort(addr); err == nil {
			info.host = h
		} else {
			info.host = addr
		}
	}
	var b strings.Builder
	if info.user != "" {
		b.WriteString(info.user)
		b.WriteByte('@')
	}
	b.WriteString(addrPart)
	b.WriteByte('/')
	b.WriteString(dbname)
	if kept := filterQuery(params); kept != "" {
		b.WriteByte('?')
		b.WriteString(kept)
	}
	info.connStr = b.String()
	return info
}

// filterQuery removes sensitive parameters from a k=v&k=v string, keeping
// the others as they were written.
func filterQuery(q string) string {
	if q == "" {
		return ""
	}
	var kept []string
	for _, kv := range strings.Split(q, "&") {
		k, _, _ := strings.Cut(kv, "=")
		if k == "" {
			continue
		}
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if !sensitive(k) {
			kept = append(kept, kv)
		}
	}
	return strings.Join(kept, "&")
}

// kvPair is one setting of a libpq key=value string: its key, its value
// with escapes resolved, and the text it was written as.
type kvPair struct{ key, val, raw string }

// splitKeyValue reads libpq's "host=h user=u password='p w'" as pgconn and
// lib/pq do: a value is either single-quoted, or runs to the next
// whitespace; in both a backslash takes the next character literally. ok
// is false for what the drivers refuse (a key without =, an unterminated
// quote, a trailing backslash); the pairs read so far are returned.
func splitKeyValue(s string) (pairs []kvPair, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t\n\r\v\f")
		if s == "" {
			return pairs, true
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return pairs, false
		}
		key := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " \t\n\r\v\f")
		var b strings.Builder
		i := 0
		quoted := strings.HasPrefix(s, "'")
		if quoted {
			i = 1
		}
		closed := false
		for ; i < len(s); i++ {
			c := s[i]
			if c == '\\' {
				if i+1 == len(s) {
					return pairs, false
				}
				i++
				b.WriteByte(s[i])
				continue
			}
			if quoted && c == '\'' {
				closed = true
				i++
				break
			}
			if !quoted && strings.IndexByte(" \t\n\r\v\f", c) >= 0 {
				break
			}
			b.WriteByte(c)
		}
		if quoted && !closed {
			return pairs, false
		}
		pairs = append(pairs, kvPair{key: key, val: b.String(), raw: s[:i]})
		s = s[i:]
	}
}

// parseKeyValue reads libpq's key=value form.
func parseKeyValue(dsn string) dsnInfo {
	var info dsnInfo
	var out []string
	pairs, ok := splitKeyValue(dsn)
	for _, p := range pairs {
		switch strings.ToLower(p.key) {
		case "user":
			info.user = p.val
		case "dbname":
			info.database = p.val
		case "host":
			if info.host == "" {
				info.host, _, _ = strings.Cut(p.val, ",")
				if strings.HasPrefix(info.host, "/") {
					info.host = "localhost"
				}
			}
		case "hostaddr":
			if info.host == "" {
				info.host = p.val
			}
		}
		if !sensitive(p.key) {
			out = append(out, p.key+"="+p.raw)
		}
	}
	if info.database == "" {
		info.database = info.user
	}
	if ok {
		info.connStr = strings.Join(out, " ")
	}
	return info
}

// adoPair is one key=value of an ADO.NET or ODBC connection string.
type adoPair struct{ key, val, raw string }

// splitADO splits "Server=h;Password={p;w};App="a;b"" on the semicolons
// outside values: a value that starts with { runs to the } not doubled
// (ODBC), one that starts with " or ' to the same quote not doubled
// (ADO.NET). ok is false when a quote or brace is not closed.
func splitADO(s string) (pairs []adoPair, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t\n\r;")
		if s == "" {
			return pairs, true
		}
		eq := strings.IndexByte(s, '=')
		semi := strings.IndexByte(s, ';')
		if eq < 0 || semi >= 0 && semi < eq {
			// A part without =: the drivers ignore or refuse it.
			if semi < 0 {
				return pairs, true
			}
			s = s[semi+1:]
			continue
		}
		key := strings.TrimSpace(s[:eq])
		rest := s[eq+1:]
		lead := len(rest) - len(strings.TrimLeft(rest, " \t"))
		v := rest[lead:]
		end := -1
		if v != "" && (v[0] == '{' || v[0] == '"' || v[0] == '\'') {
			closer := v[0]
			if closer == '{' {
				closer = '}'
			}
			for i := 1; i < len(v); i++ {
				if v[i] == closer {
					if i+1 < len(v) && v[i+1] == closer {
						i++
						continue
					}
					end = i + 1
					break
				}
			}
			if end < 0 {
				return pairs, false
			}
			// Only spaces may follow a closed value before the next ;.
			tail := v[end:]
			next := strings.IndexByte(tail, ';')
			if next < 0 {
				next = len(tail)
			}
			if strings.TrimSpace(tail[:next]) != "" {
				return pairs, false
			}
		} else if end = strings.IndexByte(v, ';'); end < 0 {
			end = len(v)
		}
		val := strings.TrimSpace(v[:end])
		if len(val) >= 2 && (val[0] == '{' || val[0] == '"' || val[0] == '\'') {
			val = val[1 : len(val)-1]
		}
		pairs = append(pairs, adoPair{key: key, val: val, raw: strings.TrimSpace(s[:eq+1+lead+end])})
		s = v[end:]
		if i := strings.IndexByte(s, ';'); i >= 0 {
			s = s[i+1:]
		} else {
			s = ""
		}
	}
}

// parseADO reads "Server=h;Database=d;User Id=u;Password={p;w}".
func parseADO(dsn string) dsnInfo {
	var info dsnInfo
	var out []string
	pairs, ok := splitADO(dsn)
	for _, p := range pairs {
		switch strings.ToLower(p.key) {
		case "server", "data source", "host", "address", "addr", "network address", "hostname":
			h := strings.TrimPrefix(p.val, "tcp:")
			h, _, _ = strings.Cut(h, ",")
			h, _, _ = strings.Cut(h, "\\")
			info.host = h
		case "database", "initial catalog", "dbname":
			info.database = p.val
		case "user id", "uid", "user", "username", "user name":
			info.user = p.val
		}
		if !sensitive(p.key) {
			out = append(out, p.raw)
		}
	}
	if ok {
		info.connStr = strings.Join(out, ";")
	}
	return info
}

// parseSQLite reads a file path or file: URI; the database is the file's
// base name.
func parseSQLite(dsn string) dsnInfo {
	p, params, _ := strings.Cut(dsn, "?")
	p = strings.TrimPrefix(p, "file://")
	p = strings.TrimPrefix(p, "file:")
	name := filepath.Base(p)
	if p == "" || strings.Contains(p, ":memory:") || strings.Contains(params, "mode=memory") {
		name = "memory"
		if p != "" && !strings.Contains(p, ":memory:") {
			name = path.Base(p)
		}
	}
	info := dsnInfo{database: name} // named by the file alone
	info.connStr = p
	if kept := filterQuery(params); kept != "" {
		info.connStr += "?" + kept
	}
	return info
}

// minGuarded is the shortest secret the guard looks for: shorter ones
// match too much ordinary text to mean anything.
const minGuarded = 3

// guard drops url and connection_string, and any of user, host and
// database, that contain a secret some grammar would read from dsn.
func guard(dsn, dbType string, info dsnInfo) dsnInfo {
	for _, s := range candidateSecrets(dsn, dbType) {
		if len(s) < minGuarded {
			continue
		}
		if strings.Contains(info.url, s) || strings.Contains(info.connStr, s) {
			info.url, info.connStr = "", ""
		}
		for _, f := range []*string{&info.user, &info.host, &info.database} {
			if strings.Contains(*f, s) {
				*f = ""
			}
		}
	}
	return info
}

// candidateSecrets returns what could be a password or another secret in
// dsn under each grammar of this file, and under a plain reading of user
// info between the first colon and the last @: a superset of what any of
// the drivers would use. Each comes raw and unescaped. go-sql-driver's
// reading of user info is left out for the engines that do not use it.
func candidateSecrets(dsn, dbType string) []string {
	var out []string
	add := func(v string) {
		v = strings.TrimSpace(v)
		if v == "" {
			return
		}
		out = append(out, v)
		if u, err := url.QueryUnescape(v); err == nil && u != v {
			out = append(out, u)
		}
		if t := strings.Trim(v, `'"{}`); t != v && t != "" {
			out = append(out, t)
		}
	}
	// User info: user:password@ in URLs and MySQL DSNs, wherever the
	// colon and the @ fall.
	from := 0
	if i := strings.Index(dsn, "://"); i >= 0 {
		from = i + 3
	}
	if at := strings.LastIndexByte(dsn, '@'); at > from {
		if c := strings.IndexByte(dsn[from:at], ':'); c >= 0 {
			add(dsn[from+c+1 : at])
		}
		mysqlLike := dbType != typePostgreSQL && dbType != typeSQLServer && dbType != typeSQLite
		if slash := strings.LastIndexByte(dsn, '/'); slash > 0 && mysqlLike {
			if at2 := strings.LastIndexByte(dsn[:slash], '@'); at2 >= 0 {
				if c := strings.IndexByte(dsn[:at2], ':'); c >= 0 {
					add(dsn[c+1 : at2]) // go-sql-driver's reading
				}
			}
		}
	}
	// Query parameters, split on & and ;.
	if _, q, ok := strings.Cut(dsn, "?"); ok {
		for _, kv := range strings.FieldsFunc(q, func(r rune) bool { return r == '&' || r == ';' }) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				if uk, err := url.QueryUnescape(k); err == nil {
					k = uk
				}
				if sensitive(k) {
					add(v)
				}
			}
		}
	}
	// key=value (libpq), key=value; (ADO, ODBC), and a naive split of
	// each on its separators.
	pairs, _ := splitKeyValue(dsn)
	for _, p := range pairs {
		if sensitive(p.key) {
			add(p.val)
			add(p.raw)
		}
	}
	ado, _ := splitADO(dsn)
	for _, p := range ado {
		if sensitive(p.key) {
			add(p.val)
			add(p.raw)
		}
	}
	for _, sep := range []string{";", " "} {
		for _, part := range strings.Split(dsn, sep) {
			if k, v, ok := strings.Cut(part, "="); ok && sensitive(k) {
				add(v)
			}
		}
	}
	return out
}
