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

// parseDSN reads dsn in the form its database type suggests: URL
// (scheme://user:pass@host/db?k=v), libpq key=value pairs, ODBC/ADO
// key=value;... with {braced} values, the MySQL driver's
// user:pass@tcp(host:port)/db?k=v, or an SQLite file path. Every password,
// token and signature is left out of url and connStr.
func parseDSN(dsn, dbType string) dsnInfo {
	dsn = strings.TrimSpace(dsn)
	switch {
	case dsn == "":
		return dsnInfo{}
	case dbType == typeSQLite:
		return parseSQLite(dsn)
	case strings.Contains(dsn, "://"):
		return parseURL(dsn)
	case dbType == typeMySQL || looksMySQL(dsn):
		return parseMySQL(dsn)
	case strings.Contains(dsn, ";") || strings.Contains(dsn, "{"):
		return parseODBC(dsn)
	case strings.Contains(dsn, "="):
		return parseKeyValue(dsn)
	}
	// Unknown form: keep nothing that could hold a secret.
	return dsnInfo{}
}

// sensitive reports whether a parameter may hold a secret.
func sensitive(key string) bool {
	k := strings.ToLower(strings.TrimSpace(key))
	for _, s := range []string{"pass", "pwd", "secret", "token", "signature", "credential", "auth", "apikey", "api_key", "private"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	switch k {
	case "key", "_key", "_pragma", "x-amz-date", "sslkey", "sslcert", "sslrootcert":
		// SQLCipher keys and pragmas; RDS IAM query parameters; paths to
		// key material.
		return true
	}
	return false
}

func parseURL(dsn string) dsnInfo {
	u, err := url.Parse(dsn)
	if err != nil {
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
	for _, k := range []string{"user", "username"} {
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

// parseMySQL reads [user[:password]@][net[(addr)]]/dbname[?params], the
// go-sql-driver/mysql format.
func parseMySQL(dsn string) dsnInfo {
	var info dsnInfo
	rest, params, _ := strings.Cut(dsn, "?")
	slash := strings.LastIndexByte(rest, '/')
	if slash < 0 {
		return dsnInfo{}
	}
	info.database = rest[slash+1:]
	prefix := rest[:slash]
	addrPart := prefix
	if at := strings.LastIndexByte(prefix, '@'); at >= 0 {
		userinfo := prefix[:at]
		addrPart = prefix[at+1:]
		info.user, _, _ = strings.Cut(userinfo, ":")
	}
	if open := strings.IndexByte(addrPart, '('); open >= 0 && strings.HasSuffix(addrPart, ")") {
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
	b.WriteString(info.database)
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

// parseKeyValue reads libpq's "host=h port=5432 user=u password='p w'".
func parseKeyValue(dsn string) dsnInfo {
	var info dsnInfo
	var out []string
	s := dsn
	for {
		s = strings.TrimLeft(s, " \t\n\r")
		if s == "" {
			break
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break // malformed tail: dropped
		}
		key := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val, raw string
		if strings.HasPrefix(s, "'") {
			// Quoted: backslash escapes the next character.
			var b strings.Builder
			i := 1
			for ; i < len(s); i++ {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					i++
					b.WriteByte(s[i])
					continue
				}
				if c == '\'' {
					break
				}
				b.WriteByte(c)
			}
			val = b.String()
			end := min(i+1, len(s))
			raw, s = s[:end], s[end:]
		} else {
			end := strings.IndexAny(s, " \t\n\r")
			if end < 0 {
				end = len(s)
			}
			val, raw, s = s[:end], s[:end], s[end:]
		}
		switch strings.ToLower(key) {
		case "user":
			info.user = val
		case "dbname":
			info.database = val
		case "host":
			if info.host == "" {
				info.host, _, _ = strings.Cut(val, ",")
				if strings.HasPrefix(info.host, "/") {
					info.host = "localhost"
				}
			}
		case "hostaddr":
			if info.host == "" {
				info.host = val
			}
		}
		if !sensitive(key) {
			out = append(out, key+"="+raw)
		}
	}
	if info.database == "" {
		info.database = info.user
	}
	info.connStr = strings.Join(out, " ")
	return info
}

// parseODBC reads "Server=h;Database=d;User Id=u;Password={p;w}".
func parseODBC(dsn string) dsnInfo {
	var info dsnInfo
	var out []string
	for _, part := range splitODBC(dsn) {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		key := strings.TrimSpace(k)
		val := strings.Trim(strings.TrimSpace(v), "{}")
		switch strings.ToLower(key) {
		case "server", "data source", "host", "address", "addr", "network address", "hostname":
			h := strings.TrimPrefix(val, "tcp:")
			h, _, _ = strings.Cut(h, ",")
			h, _, _ = strings.Cut(h, "\\")
			info.host = h
		case "database", "initial catalog", "dbname":
			info.database = val
		case "user id", "uid", "user", "username", "user name":
			info.user = val
		}
		if !sensitive(key) {
			out = append(out, strings.TrimSpace(part))
		}
	}
	info.connStr = strings.Join(out, ";")
	return info
}

// splitODBC splits on semicolons outside {braces} (where }} is a brace).
func splitODBC(s string) []string {
	var parts []string
	depth := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth = true
		case '}':
			if depth && i+1 < len(s) && s[i+1] == '}' {
				i++
				continue
			}
			depth = false
		case ';':
			if !depth {
				if p := strings.TrimSpace(s[start:i]); p != "" {
					parts = append(parts, p)
				}
				start = i + 1
			}
		}
	}
	if p := strings.TrimSpace(s[start:]); p != "" {
		parts = append(parts, p)
	}
	return parts
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
