// Package sampling decides which requests are recorded.
//
// A Strategy looks at a Request (host, method, path and the service's name)
// and returns a Decision. The recorder asks its strategy once per segment it
// begins without an upstream decision; subsegments inherit their segment's
// decision.
//
// The local strategy applies rules from a JSON document in the format of the
// X-Ray SDKs (versions 1 and 2). Each rule has a reservoir, a number of
// requests recorded every second (fixed_target), and a rate applied to the
// requests beyond it. Without rules, the default is one request per second
// and five percent of the rest.
//
// The centralized strategy (NewCentralizedStrategy), a recorder's default,
// applies the rules defined in X-Ray, fetched through the daemon, with the
// reservoir quotas X-Ray assigns to each process; the local rules decide
// until they arrive.
package sampling

// Request describes what a sampling rule is matched against. Fields left
// empty match only wildcard patterns ("*").
type Request struct {
	// Host is the request's host name, as in the HTTP Host header.
	Host string
	// Method is the HTTP method.
	Method string
	// URL is the request path.
	URL string
	// ServiceName is the name of the segment being started.
	ServiceName string
	// ServiceType is the segment's origin, such as AWS::EC2::Instance.
	ServiceType string
	// Attributes are matched by centralized rules that name attributes: a
	// rule with attributes applies only to requests that carry each of
	// them with a matching value.
	Attributes map[string]string
}

// Decision is a strategy's answer for one request.
type Decision struct {
	// Sample reports whether the request is recorded.
	Sample bool
	// Rule is the name of the rule that decided, if it has one. The recorder
	// writes it to the segment as aws.xray.sampling_rule_name.
	Rule string
}

// Strategy decides whether a request is sampled. Implementations must be
// safe for concurrent use and must not block: ShouldTrace runs on the
// request's goroutine.
type Strategy interface {
	ShouldTrace(Request) Decision
}

// StrategyFunc adapts a function to the Strategy interface.
type StrategyFunc func(Request) Decision

// ShouldTrace calls f(r).
func (f StrategyFunc) ShouldTrace(r Request) Decision { return f(r) }

// Always is a strategy that samples every request, for tests and demos.
var Always Strategy = StrategyFunc(func(Request) Decision { return Decision{Sample: true} })

// Never is a strategy that samples no request.
var Never Strategy = StrategyFunc(func(Request) Decision { return Decision{} })

// WildcardMatch reports whether text matches pattern, where * stands for any
// run of characters (including none) and ? for exactly one. Letters are
// compared without regard to ASCII case, as X-Ray compares rule fields.
func WildcardMatch(pattern, text string) bool {
	if pattern == "*" {
		return true
	}
	// Iterative matching with one backtrack point: linear for patterns
	// with a single *, and never recursive.
	p, t := 0, 0
	star, mark := -1, 0
	for t < len(text) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || foldEq(pattern[p], text[t])):
			p++
			t++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, t
			p++
		case star >= 0:
			p = star + 1
			mark++
			t = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func foldEq(a, b byte) bool {
	if a == b {
		return true
	}
	if 'A' <= a && a <= 'Z' {
		a += 'a' - 'A'
	}
	if 'A' <= b && b <= 'Z' {
		b += 'a' - 'A'
	}
	return a == b
}
