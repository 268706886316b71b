package sqltrace

import (
	"strings"
	"unicode"

	"github.com/DataDog/go-sqllexer"
)

// QueryMode says what sql.sanitized_query holds.
type QueryMode int

const (
	// QuerySanitized records the statement with every literal replaced by
	// a placeholder (the default).
	QuerySanitized QueryMode = iota
	// QueryOff records no statement text.
	QueryOff
	// QueryRaw records the statement as written. Only for statements known
	// to carry no secret: literals are recorded as they are.
	QueryRaw
)

// DefaultMaxQueryLen caps the recorded statement, in characters.
const DefaultMaxQueryLen = 2000

// One obfuscator and normalizer serve every statement: they hold only
// their settings.
var (
	obfuscator = sqllexer.NewObfuscator(
		sqllexer.WithReplaceDigits(false),              // digits in identifiers (table2) stay
		sqllexer.WithReplaceBoolean(true),              // TRUE/FALSE literals go
		sqllexer.WithReplaceNull(false),                // NULL is no secret
		sqllexer.WithDollarQuotedFunc(false),           // $tag$...$tag$ goes whole
		sqllexer.WithReplacePositionalParameter(false), // $1 stays
		sqllexer.WithReplaceBindParameter(false),       // :name, @name stay
	)
	normalizer = sqllexer.NewNormalizer(
		sqllexer.WithCollectComments(false), // comments are dropped
		sqllexer.WithKeepSQLAlias(true),
		sqllexer.WithKeepIdentifierQuotation(true),
		sqllexer.WithKeepTrailingSemicolon(false),
		sqllexer.WithUppercaseKeywords(false),
	)
)

// sanitize returns the statement as recorded under mode, cut to maxLen
// characters. Sanitizing replaces string, number, boolean and
// dollar-quoted literals with ?, collapses IN lists, keeps bind
// placeholders and removes comments. Literals are found twice: by this
// package's own scan of every form the engine (dbType) accepts, and then by
// go-sqllexer. When the lexer fails, or a quote survives both, only the
// statement's first word is recorded, followed by "...".
func sanitize(query string, mode QueryMode, dbType string, maxLen int) string {
	var out string
	switch mode {
	case QueryOff:
		return ""
	case QueryRaw:
		out = strings.TrimSpace(query)
	default:
		hidden := hideLiterals(query, dbType)
		s, _, err := sqllexer.ObfuscateAndNormalize(hidden, obfuscator, normalizer, sqllexer.WithDBMS(dialect(dbType)))
		if err != nil || s == "" || strings.ContainsRune(s, '\'') {
			// Never text that might hold a literal.
			return leadingWord(query)
		}
		out = s
	}
	if maxLen > 0 && len(out) > maxLen {
		n := 0
		for i := range out {
			if n == maxLen {
				return out[:i] + "..."
			}
			n++
		}
	}
	return out
}

// leadingWord returns the statement's first word, upper-cased, and "...":
// what is recorded of a statement that could not be sanitized.
func leadingWord(q string) string {
	q = strings.TrimLeftFunc(q, unicode.IsSpace)
	end := strings.IndexFunc(q, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsLetter(r) })
	if end < 0 {
		end = len(q)
	}
	if end == 0 {
		return "..."
	}
	return strings.ToUpper(q[:end]) + " ..."
}

// isCall reports whether a statement calls a stored procedure.
func isCall(query string) bool {
	q := strings.TrimLeftFunc(query, func(r rune) bool { return unicode.IsSpace(r) || r == '{' })
	if len(q) < 5 {
		return false
	}
	return strings.EqualFold(q[:4], "call") && (q[4] == ' ' || q[4] == '\t' || q[4] == '\n') ||
		len(q) >= 5 && strings.EqualFold(q[:5], "exec ") || len(q) >= 8 && strings.EqualFold(q[:8], "execute ")
}
