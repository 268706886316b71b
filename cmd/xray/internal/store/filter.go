package store

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckFilter reports whether expr is a filter expression the store
// accepts: nil, or a *FilterError saying why not.
func CheckFilter(expr string) error {
	if _, _, err := compileFilter(expr); err != nil {
		return &FilterError{err}
	}
	return nil
}

// A filter expression is a subset of X-Ray's syntax:
//
//	fault | error | throttle | ok
//	service("api")              service = "api"     service != "api"
//	annotation.user_id = "42"   annotation.retries > 2   annotation.cached = true
//	responsetime > 0.5          duration <= 2        (seconds)
//	http.status = 500           http.status >= 400
//	name = "checkout"           (the root segment's name)
//
// combined with AND, OR, NOT (also &&, ||, !) and parentheses.
// compileFilter turns one into an SQL condition on traces t, in time
// linear in its length: expressions are at most MaxFilterLength bytes and
// nest at most MaxFilterDepth deep (parentheses and NOT).
func compileFilter(expr string) (string, []any, error) {
	if strings.TrimSpace(expr) == "" {
		return "1", nil, nil
	}
	if len(expr) > MaxFilterLength {
		return "", nil, fmt.Errorf("filter: longer than %d bytes", MaxFilterLength)
	}
	toks, err := lex(expr)
	if err != nil {
		return "", nil, err
	}
	p := &parser{toks: toks}
	cond, err := p.or()
	if err != nil {
		return "", nil, err
	}
	if p.pos != len(p.toks) {
		return "", nil, fmt.Errorf("filter: unexpected %q", p.toks[p.pos].text)
	}
	return cond, p.args, nil
}

// serviceCond selects the traces with a segment of a service. Services are
// few and each is in many traces, so a check per trace (walking the newest
// first, stopping at the limit) beats building the list of all of them.
const serviceCond = "EXISTS (SELECT 1 FROM services s WHERE s.trace_id = t.trace_id AND s.name = ?)"

type tokKind int

const (
	tIdent tokKind = iota
	tString
	tNumber
	tOp
	tLParen
	tRParen
)

type token struct {
	kind tokKind
	text string
}

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tLParen, "("})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")"})
			i++
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("filter: unterminated string at %d", i)
			}
			toks = append(toks, token{tString, b.String()})
			i = j + 1
		case strings.ContainsRune("=!<>&|", rune(c)):
			j := i + 1
			for j < len(s) && strings.ContainsRune("=<>&|", rune(s[j])) {
				j++
			}
			op := s[i:j]
			switch op {
			case "=", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "!":
			default:
				return nil, fmt.Errorf("filter: unknown operator %q", op)
			}
			toks = append(toks, token{tOp, op})
			i = j
		case c == '-' || c == '.' || unicode.IsDigit(rune(c)):
			j := i + 1
			for j < len(s) && (unicode.IsDigit(rune(s[j])) || s[j] == '.' || s[j] == 'e' || s[j] == 'E') {
				j++
			}
			toks = append(toks, token{tNumber, s[i:j]})
			i = j
		case c == '_' || isLetterAt(s, i):
			j := i
			for j < len(s) {
				r, size := utf8.DecodeRuneInString(s[j:])
				if r != '_' && r != '.' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				j += size
			}
			toks = append(toks, token{tIdent, s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("filter: unexpected %q at %d", c, i)
		}
	}
	return toks, nil
}

// Bounds of a filter expression.
const (
	MaxFilterLength = 4096
	MaxFilterDepth  = 32
)

// isLetterAt reports whether s has a letter (any script) at byte i.
func isLetterAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(r)
}

type parser struct {
	toks  []token
	pos   int
	args  []any
	depth int
}

// enter counts one more level of nesting.
func (p *parser) enter() error {
	if p.depth++; p.depth > MaxFilterDepth {
		return fmt.Errorf("filter: nested deeper than %d", MaxFilterDepth)
	}
	return nil
}

func (p *parser) peek() *token {
	if p.pos < len(p.toks) {
		return &p.toks[p.pos]
	}
	return nil
}

func (p *parser) keyword(words ...string) bool {
	t := p.peek()
	if t == nil {
		return false
	}
	for _, w := range words {
		if (t.kind == tIdent && strings.EqualFold(t.text, w)) || (t.kind == tOp && t.text == w) {
			p.pos++
			return true
		}
	}
	return false
}

func (p *parser) or() (string, error) {
	left, err := p.and()
	if err != nil {
		return "", err
	}
	for p.keyword("or", "||") {
		right, err := p.and()
		if err != nil {
			return "", err
		}
		left = "(" + left + " OR " + right + ")"
	}
	return left, nil
}

func (p *parser) and() (string, error) {
	left, err := p.unary()
	if err != nil {
		return "", err
	}
	for p.keyword("and", "&&") {
		right, err := p.unary()
		if err != nil {
			return "", err
		}
		left = "(" + left + " AND " + right + ")"
	}
	return left, nil
}

func (p *parser) unary() (string, error) {
	if err := p.enter(); err != nil {
		return "", err
	}
	defer func() { p.depth-- }()
	if p.keyword("not", "!") {
		c, err := p.unary()
		if err != nil {
			return "", err
		}
		return "(NOT " + c + ")", nil
	}
	if t := p.peek(); t != nil && t.kind == tLParen {
		p.pos++
		c, err := p.or()
		if err != nil {
			return "", err
		}
		if t := p.peek(); t == nil || t.kind != tRParen {
			return "", fmt.Errorf("filter: missing )")
		}
		p.pos++
		return c, nil
	}
	return p.term()
}

func (p *parser) op() (string, error) {
	t := p.peek()
	if t == nil || t.kind != tOp {
		return "", fmt.Errorf("filter: expected a comparison")
	}
	p.pos++
	switch t.text {
	case "=", "==":
		return "=", nil
	case "!=", "<", "<=", ">", ">=":
		return t.text, nil
	}
	return "", fmt.Errorf("filter: %q is not a comparison", t.text)
}

func (p *parser) value() (token, error) {
	t := p.peek()
	if t == nil || (t.kind != tString && t.kind != tNumber && !(t.kind == tIdent && (strings.EqualFold(t.text, "true") || strings.EqualFold(t.text, "false")))) {
		return token{}, fmt.Errorf("filter: expected a value")
	}
	p.pos++
	return *t, nil
}

func (p *parser) number() (float64, error) {
	t, err := p.value()
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(t.text, 64)
	if err != nil || t.kind != tNumber {
		return 0, fmt.Errorf("filter: %q is not a number", t.text)
	}
	return f, nil
}

func (p *parser) term() (string, error) {
	t := p.peek()
	if t == nil || t.kind != tIdent {
		return "", fmt.Errorf("filter: expected a condition")
	}
	p.pos++
	name := strings.ToLower(t.text)
	switch {
	case name == "fault" || name == "error" || name == "throttle":
		return "t." + name + " = 1", nil
	case name == "ok":
		return "(t.fault = 0 AND t.error = 0 AND t.throttle = 0)", nil
	case name == "service":
		var op string
		if nt := p.peek(); nt != nil && nt.kind == tLParen {
			p.pos++
			v, err := p.value()
			if err != nil {
				return "", err
			}
			if rt := p.peek(); rt == nil || rt.kind != tRParen {
				return "", fmt.Errorf("filter: missing ) after service(")
			}
			p.pos++
			p.args = append(p.args, v.text)
			return serviceCond, nil
		}
		op, err := p.op()
		if err != nil {
			return "", err
		}
		v, err := p.value()
		if err != nil {
			return "", err
		}
		p.args = append(p.args, v.text)
		switch op {
		case "=":
			return serviceCond, nil
		case "!=":
			return "(NOT " + serviceCond + ")", nil
		}
		return "", fmt.Errorf("filter: service takes = or !=")
	case name == "name":
		op, err := p.op()
		if err != nil {
			return "", err
		}
		v, err := p.value()
		if err != nil {
			return "", err
		}
		p.args = append(p.args, v.text)
		return "t.root_name " + op + " ?", nil
	case name == "responsetime" || name == "duration":
		op, err := p.op()
		if err != nil {
			return "", err
		}
		f, err := p.number()
		if err != nil {
			return "", err
		}
		p.args = append(p.args, f)
		return "(t.end_time - t.start_time) " + op + " ?", nil
	case name == "http.status":
		op, err := p.op()
		if err != nil {
			return "", err
		}
		f, err := p.number()
		if err != nil {
			return "", err
		}
		p.args = append(p.args, f)
		return "t.http_status " + op + " ?", nil
	case strings.HasPrefix(name, "annotation.") && len(t.text) > len("annotation."):
		key := t.text[len("annotation."):]
		op, err := p.op()
		if err != nil {
			return "", err
		}
		v, err := p.value()
		if err != nil {
			return "", err
		}
		col, val := "a.value", any(v.text)
		switch {
		case v.kind == tNumber:
			f, err := strconv.ParseFloat(v.text, 64)
			if err != nil {
				return "", fmt.Errorf("filter: %q is not a number", v.text)
			}
			col, val = "a.num", f
		case v.kind == tIdent:
			val = strings.ToLower(v.text)
		}
		p.args = append(p.args, key, val)
		// An IN over the (key, value) index, not a correlated EXISTS: a
		// rare value must not mean a scan of every trace.
		return "t.trace_id IN (SELECT a.trace_id FROM annotations a WHERE a.key = ? AND " + col + " " + op + " ?)", nil
	}
	return "", fmt.Errorf("filter: unknown condition %q", t.text)
}
