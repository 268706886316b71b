package xrayaws

import "strings"

// partiQLTables appends to names the tables a PartiQL statement for
// DynamoDB names after FROM, INTO or UPDATE, each once. String literals
// are skipped and never returned. An index named after its table
// ("Music"."ByArtist") counts as its table.
func partiQLTables(names []string, stmt string) []string {
	want := false // the previous word was FROM, INTO or UPDATE
	for i := 0; i < len(stmt); {
		c := stmt[i]
		switch {
		case c == '\'':
			// A string literal; '' is an escaped quote.
			i++
			for i < len(stmt) {
				if stmt[i] == '\'' {
					if i+1 < len(stmt) && stmt[i+1] == '\'' {
						i += 2
						continue
					}
					break
				}
				i++
			}
			i++
			want = false
		case c == '"':
			name, end := quotedIdent(stmt, i)
			if want && name != "" {
				names = appendUnique(names, name)
			}
			i, want = end, false
		case isIdentByte(c):
			j := i
			for j < len(stmt) && isIdentByte(stmt[j]) {
				j++
			}
			word := stmt[i:j]
			if want {
				names = appendUnique(names, word)
				want = false
			} else {
				want = strings.EqualFold(word, "from") || strings.EqualFold(word, "into") || strings.EqualFold(word, "update")
			}
			i = j
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		default:
			// Punctuation ends a FROM clause that named no table: FROM ( ...
			want = false
			i++
		}
		if i < len(stmt) && stmt[i] == '.' {
			// The index part of "Table"."Index" or Table.Index.
			i++
			if i < len(stmt) && stmt[i] == '"' {
				_, i = quotedIdent(stmt, i)
			} else {
				for i < len(stmt) && isIdentByte(stmt[i]) {
					i++
				}
			}
		}
	}
	return names
}

// quotedIdent reads the double-quoted identifier at stmt[i] ("" is an
// escaped quote) and returns it with the index after its closing quote.
func quotedIdent(stmt string, i int) (string, int) {
	var b strings.Builder
	for i++; i < len(stmt); i++ {
		if stmt[i] == '"' {
			if i+1 < len(stmt) && stmt[i+1] == '"' {
				b.WriteByte('"')
				i++
				continue
			}
			return b.String(), i + 1
		}
		b.WriteByte(stmt[i])
	}
	return "", len(stmt) // unterminated: not a name
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
