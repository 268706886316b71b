package xray

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameLen is X-Ray's limit on segment and subsegment names, in characters.
const maxNameLen = 200

// nameASCII[b] is true for the ASCII characters X-Ray allows in names:
// letters, digits, space and _ . : / % & # = + \ - @
var nameASCII = func() (t [utf8.RuneSelf]bool) {
	for b := 'a'; b <= 'z'; b++ {
		t[b] = true
		t[b-'a'+'A'] = true
	}
	for b := '0'; b <= '9'; b++ {
		t[b] = true
	}
	for _, b := range " _.:/%&#=+\\-@" {
		t[b] = true
	}
	return
}()

// sanitizeName returns name with characters X-Ray rejects replaced by '_'
// and cut to 200 characters. An empty name becomes "unnamed". Names that
// need no change are returned as they are, without allocating.
func sanitizeName(name string) string {
	if name == "" {
		return "unnamed"
	}
	clean := true
	n := 0
	for i := 0; i < len(name); {
		b := name[i]
		if b < utf8.RuneSelf {
			if !nameASCII[b] {
				clean = false
				break
			}
			i++
		} else {
			r, size := utf8.DecodeRuneInString(name[i:])
			if !nameRune(r) || (r == utf8.RuneError && size == 1) {
				clean = false
				break
			}
			i += size
		}
		n++
		if n > maxNameLen {
			clean = false
			break
		}
	}
	if clean {
		return name
	}
	var b strings.Builder
	b.Grow(min(len(name), 4*maxNameLen))
	n = 0
	for _, r := range name {
		if n == maxNameLen {
			break
		}
		if r < utf8.RuneSelf && !nameASCII[r] || r >= utf8.RuneSelf && (!nameRune(r) || r == utf8.RuneError) {
			r = '_'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func nameRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp)
}
