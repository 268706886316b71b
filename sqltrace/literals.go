package sqltrace

import (
	"slices"
	"strings"
)

// This file finds every literal and comment of a statement before
// go-sqllexer sees it, for the forms the lexer lets through (nested block
// comments, unterminated dollar quotes, 0b/0o/1_000 numbers, SQLite's
// double-quoted strings, passwords written as identifiers). Where a
// dialect can read a statement in more than one way (MySQL with or
// without NO_BACKSLASH_ESCAPES, PostgreSQL's standard_conforming_strings,
// an engine we do not know), every reading is scanned and the union of
// what they mark is hidden.

// mark says what a byte of a statement is.
const (
	markCode    byte = iota // keep
	markComment             // drop
	markLiteral             // replace with an empty literal
)

// reading is one way of lexing a statement.
type reading struct {
	backslash bool // a backslash escapes the next character in '' and ""
	eStrings  bool // E'...' strings take backslash escapes (PostgreSQL)
	nested    bool // block comments nest (PostgreSQL, SQL Server)
	dqString  bool // "..." is a string literal (MySQL; SQLite, maybe)
	dqIdent   bool // with dqString: "..." where an identifier must stand is one (SQLite)
	hash      bool // # starts a comment (MySQL)
	dollar    bool // $tag$...$tag$ quoting (PostgreSQL)
	brackets  bool // [...] is a quoted identifier (SQL Server, SQLite)
	backtick  bool // `...` is a quoted identifier (MySQL, SQLite)
	qQuote    bool // q'[...]' strings (Oracle)
}

var (
	readingsPostgres = []reading{
		{eStrings: true, nested: true, dollar: true},
		{backslash: true, nested: true, dollar: true}, // standard_conforming_strings=off
	}
	readingsMySQL = []reading{
		{backslash: true, dqString: true, hash: true, backtick: true},
		// NO_BACKSLASH_ESCAPES; and nested comments, which MySQL refuses
		// but which hide more.
		{dqString: true, hash: true, backtick: true, nested: true},
	}
	readingsSQLServer = []reading{{nested: true, brackets: true}}
	readingsOracle    = []reading{{qQuote: true}}
	readingsSQLite    = []reading{
		{dqString: true, dqIdent: true, brackets: true, backtick: true},
		{dqString: true, dqIdent: true, brackets: true, backtick: true, nested: true},
	}
	// An engine we do not know may read a statement as any of them.
	readingsAny = concat(readingsPostgres, readingsMySQL, readingsSQLServer, readingsOracle, readingsSQLite,
		[]reading{{brackets: true, backtick: true, nested: true}})
)

func concat(rs ...[]reading) []reading {
	var out []reading
	for _, r := range rs {
		out = append(out, r...)
	}
	return out
}

func readingsFor(dbType string) []reading {
	switch dbType {
	case typePostgreSQL:
		return readingsPostgres
	case typeMySQL:
		return readingsMySQL
	case typeSQLServer:
		return readingsSQLServer
	case typeOracle:
		return readingsOracle
	case typeSQLite:
		return readingsSQLite
	}
	return readingsAny
}

// hideLiterals returns query with every literal replaced by ” (which the
// obfuscator then turns into ?) and every comment by a space, under all of
// the readings.
func hideLiterals(query, dbType string) string {
	marks := make([]byte, len(query))
	readings := readingsFor(dbType)
	for _, r := range readings {
		if !r.backslash || strings.IndexByte(query, '\\') >= 0 {
			r.markInto(query, marks)
		}
	}
	if !slices.ContainsFunc(marks, func(m byte) bool { return m != markCode }) {
		return query
	}
	var b strings.Builder
	b.Grow(len(query))
	for i := 0; i < len(query); {
		if marks[i] == markCode {
			b.WriteByte(query[i])
			i++
			continue
		}
		j, lit := i, false
		for j < len(query) && marks[j] != markCode {
			lit = lit || marks[j] == markLiteral
			j++
		}
		if lit {
			b.WriteString("''")
		} else {
			b.WriteByte(' ')
		}
		i = j
	}
	return b.String()
}

// markInto marks query's literals and comments under r; marks only grow.
func (r reading) markInto(q string, marks []byte) {
	set := func(from, to int, m byte) {
		to = min(to, len(q))
		for k := from; k < to; k++ {
			marks[k] = max(marks[k], m)
		}
	}
	var w words // the words seen, for passwords written as identifiers
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '-' && i+1 < len(q) && q[i+1] == '-', r.hash && c == '#':
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				end = len(q) - i
			}
			set(i, i+end, markComment)
			i += end
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			end := blockCommentEnd(q, i, r.nested)
			set(i, end, markComment)
			i = end
		case c == '\'':
			backslash := r.backslash || r.eStrings && i > 0 && (q[i-1] == 'e' || q[i-1] == 'E') && !isIdentByte(q, i-2)
			end := quotedEnd(q, i, '\'', backslash)
			set(i, end, markLiteral)
			w.value()
			i = end
		case c == '"':
			end := quotedEnd(q, i, '"', r.backslash && r.dqString)
			if secret := w.secretNext(); secret || r.dqString && !(r.dqIdent && w.identifierPlace(q, i, end)) {
				set(i, end, markLiteral)
				w.value()
			} else {
				w.ident()
			}
			i = end
		case r.backtick && c == '`', r.brackets && c == '[':
			closer := c
			if c == '[' {
				closer = ']'
			}
			end := quotedEnd(q, i, closer, false)
			if w.secretNext() {
				set(i, end, markLiteral)
			}
			w.ident()
			i = end
		case r.qQuote && (c == 'q' || c == 'Q') && i+2 < len(q) && q[i+1] == '\'' && !isIdentByte(q, i-1):
			// n'...' prefixes aside, q'<d>...<d>' ends at the closing
			// delimiter followed by a quote.
			open := q[i+2]
			closeDelim := map[byte]byte{'[': ']', '(': ')', '{': '}', '<': '>'}[open]
			if closeDelim == 0 {
				closeDelim = open
			}
			end := len(q)
			if k := strings.Index(q[i+3:], string([]byte{closeDelim, '\''})); k >= 0 {
				end = i + 3 + k + 2
			}
			set(i+1, end, markLiteral)
			w.value()
			i = end
		case r.dollar && c == '$' && !isIdentByte(q, i-1):
			tagEnd := i + 1
			for tagEnd < len(q) && q[tagEnd] != '$' && isIdentByteAt(q[tagEnd]) && !(isDigit(q[tagEnd]) && tagEnd == i+1) {
				tagEnd++
			}
			if tagEnd < len(q) && q[tagEnd] == '$' {
				tag := q[i : tagEnd+1]
				end := len(q)
				if k := strings.Index(q[tagEnd+1:], tag); k >= 0 {
					end = tagEnd + 1 + k + len(tag)
				}
				set(i, end, markLiteral)
				w.value()
				i = end
				continue
			}
			// $1: a positional parameter; its digits stay.
			i = tagEnd
			for i < len(q) && q[i] >= '0' && q[i] <= '9' {
				i++
			}
			w.value()
		case isDigit(c) || c == '.' && i+1 < len(q) && isDigit(q[i+1]):
			end := numberEnd(q, i)
			if !isIdentByte(q, i-1) && !isParamPrefix(q, i-1) {
				set(i, end, markLiteral)
			}
			w.value()
			i = end
		case isIdentByteAt(c):
			end := i
			for end < len(q) && isIdentByteAt(q[end]) {
				end++
			}
			if w.secretNext() {
				set(i, end, markLiteral)
				w.value()
			} else {
				w.word(q[i:end])
			}
			i = end
		case c == ';':
			w = words{}
			i++
		default:
			switch c {
			case ' ', '\t', '\n', '\r':
			case '=', '(':
				w.prev = "" // KEY = x and PASSWORD('x') stay armed
			default:
				w.punct()
			}
			i++
		}
	}
}

// blockCommentEnd returns the index after the comment opened at i, or
// len(q) when it is not closed.
func blockCommentEnd(q string, i int, nested bool) int {
	depth := 0
	for j := i; j+1 < len(q); j++ {
		switch {
		case q[j] == '/' && q[j+1] == '*':
			if depth == 0 || nested {
				depth++
			}
			j++
		case q[j] == '*' && q[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(q)
}

// quotedEnd returns the index after the quoted text opened at i (a doubled
// closer stands for itself), or len(q) when it is not closed.
func quotedEnd(q string, i int, closer byte, backslash bool) int {
	for j := i + 1; j < len(q); j++ {
		switch q[j] {
		case '\\':
			if backslash {
				j++
			}
		case closer:
			if j+1 < len(q) && q[j+1] == closer {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(q)
}

// numberEnd returns the end of the number starting at i: digits, letters,
// underscores and dots (0x1F, 0b101, 1_000, 1.5e3), and the sign of an
// exponent.
func numberEnd(q string, i int) int {
	j := i
	for j < len(q) {
		c := q[j]
		switch {
		case isDigit(c), c == '.', c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			j++
			if (c == 'e' || c == 'E') && j < len(q) && (q[j] == '+' || q[j] == '-') {
				j++
			}
		default:
			return j
		}
	}
	return j
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isIdentByteAt reports whether c can be part of an unquoted identifier
// (any byte of a multi-byte UTF-8 character can).
func isIdentByteAt(c byte) bool {
	return c == '_' || c == '$' || isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
}

func isIdentByte(q string, i int) bool { return i >= 0 && i < len(q) && isIdentByteAt(q[i]) }

// isParamPrefix reports whether q[i] introduces a numbered parameter
// (:1, ?1, @1) whose digits are not a literal.
func isParamPrefix(q string, i int) bool {
	if i < 0 {
		return false
	}
	switch q[i] {
	case '?', '@':
		return true
	case ':':
		return i == 0 || q[i-1] != ':'
	}
	return false
}

// words follows a statement's words far enough to see where a password
// may be written as a bare identifier: after IDENTIFIED BY (MySQL,
// Oracle), PASSWORD in CREATE/ALTER/SET statements, and KEY, REKEY and
// their variants in SQLite's PRAGMA and ATTACH (SQLCipher).
type words struct {
	n          int    // words so far in the statement
	first      string // the statement's first word
	second     string // and its second
	prev       string // the previous word; "" after a value or punctuation
	identified bool   // IDENTIFIED seen in this statement
	pragma     bool   // PRAGMA or ATTACH seen in this statement
	armed      bool   // the next token is a secret
}

func is(word string, any ...string) bool {
	for _, a := range any {
		if strings.EqualFold(word, a) {
			return true
		}
	}
	return false
}

func (w *words) word(u string) {
	switch w.n {
	case 0:
		w.first = u
	case 1:
		w.second = u
	}
	w.n++
	switch {
	case is(u, "IDENTIFIED"):
		w.identified = true
	case is(u, "PRAGMA", "ATTACH"):
		w.pragma = true
	case w.identified && is(u, "BY"):
		w.armed, w.identified = true, false
	case is(u, "PASSWORD") && is(w.first, "CREATE", "ALTER", "SET") && !is(w.second, "TABLE", "VIEW", "INDEX"):
		w.armed = true
	case w.pragma && is(u, "KEY", "REKEY", "HEXKEY", "HEXREKEY", "TEXTKEY", "TEXTREKEY"):
		w.armed = true
	}
	w.prev = u
}

// secretNext reports whether the token about to be read is a secret, and
// disarms.
func (w *words) secretNext() bool {
	a := w.armed
	w.armed = false
	return a
}

func (w *words) value() { w.n++; w.prev = ""; w.armed = false }
func (w *words) ident() { w.n++; w.prev = ""; w.armed = false }
func (w *words) punct() { w.prev = ""; w.armed = false }

// identifierPlace reports whether the double-quoted text q[i:end] stands
// where only an identifier can: after FROM, JOIN, INTO, UPDATE, TABLE and
// the like, or next to a dot.
func (w *words) identifierPlace(q string, i, end int) bool {
	if is(w.prev, "FROM", "JOIN", "INTO", "UPDATE", "TABLE", "VIEW", "INDEX", "TRIGGER", "AS", "EXISTS") {
		return true
	}
	before := strings.TrimRight(q[:i], " \t\r\n")
	after := strings.TrimLeft(q[end:], " \t\r\n")
	return strings.HasSuffix(before, ".") || strings.HasPrefix(after, ".")
}
