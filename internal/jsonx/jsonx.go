// Package jsonx holds the small JSON append helpers shared by the hand-written
// encoders: strings with escaping, numbers and X-Ray timestamps.
package jsonx

import (
	"math"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// safe[b] is true for ASCII bytes that need no escaping inside a JSON string.
// <, > and & are escaped as encoding/json does, so documents can be embedded
// in HTML (the local viewer does).
var safe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = true
	}
	for _, b := range `"\<>&` {
		t[b] = false
	}
	return
}()

// String appends s as a quoted JSON string. Invalid UTF-8 becomes U+FFFD,
// and U+2028 and U+2029 are escaped.
func String(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s, -1)
	return append(dst, '"')
}

// StringLimit appends s as a quoted JSON string of at most limit runes.
func StringLimit(dst []byte, s string, limit int) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s, limit)
	return append(dst, '"')
}

func appendEscaped(dst []byte, s string, limit int) []byte {
	start := 0
	runes := 0
	for i := 0; i < len(s); {
		if limit >= 0 && runes >= limit {
			return append(dst, s[start:i]...)
		}
		runes++
		b := s[i]
		if b < utf8.RuneSelf {
			if safe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// Float appends f as a JSON number. NaN and infinities, which JSON cannot
// hold, become null.
func Float(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(dst, f, format, -1, 64)
}

// Time appends a Unix time in nanoseconds as X-Ray's epoch seconds with
// microsecond precision, for example 1700000000.123456.
func Time(dst []byte, unixNano int64) []byte {
	if unixNano < 0 {
		unixNano = 0
	}
	sec := unixNano / 1e9
	micros := (unixNano % 1e9) / 1e3
	dst = strconv.AppendInt(dst, sec, 10)
	dst = append(dst, '.')
	var frac [6]byte
	for i := 5; i >= 0; i-- {
		frac[i] = byte('0' + micros%10)
		micros /= 10
	}
	return append(dst, frac[:]...)
}
