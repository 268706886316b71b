package xraytest

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// segmentSchema is AWS's published segment document schema, version 1.0.0.
//
//go:embed schema/xray-segment-schema-v1.0.0.json
var segmentSchema []byte

var (
	schemaOnce sync.Once
	schemaRoot map[string]any
	schemaErr  error
	patterns   sync.Map // string → *regexp.Regexp
)

// Validate checks a document against AWS's published segment document
// schema (draft-04: type, properties, patternProperties,
// additionalProperties, required, pattern, minLength, maxLength, items,
// oneOf and $ref, the keywords that schema uses). The schema's patterns are
// written for JavaScript; their \uXXXX escapes are translated for Go.
func Validate(doc Document) error {
	schemaOnce.Do(func() {
		schemaErr = json.Unmarshal(segmentSchema, &schemaRoot)
	})
	if schemaErr != nil {
		return schemaErr
	}
	var errs []error
	validateValue(map[string]any(doc), schemaRoot, "$", &errs)
	return errors.Join(errs...)
}

func validateValue(v any, schema map[string]any, path string, errs *[]error) {
	if ref, ok := schema["$ref"].(string); ok {
		target, err := resolveRef(ref)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s: %w", path, err))
			return
		}
		schema = target
	}
	if t, ok := schema["type"]; ok && !typeMatches(v, t) {
		*errs = append(*errs, fmt.Errorf("%s: %s is not of type %v", path, describe(v), t))
		return
	}
	if alts, ok := schema["oneOf"].([]any); ok {
		matched := 0
		for _, alt := range alts {
			var sub []error
			validateValue(v, alt.(map[string]any), path, &sub)
			if len(sub) == 0 {
				matched++
			}
		}
		if matched != 1 {
			*errs = append(*errs, fmt.Errorf("%s: matches %d of oneOf, want exactly 1", path, matched))
		}
	}
	switch x := v.(type) {
	case string:
		n := utf8.RuneCountInString(x)
		if m, ok := schema["minLength"].(float64); ok && n < int(m) {
			*errs = append(*errs, fmt.Errorf("%s: %d characters, minimum %v", path, n, m))
		}
		if m, ok := schema["maxLength"].(float64); ok && n > int(m) {
			*errs = append(*errs, fmt.Errorf("%s: %d characters, maximum %v", path, n, m))
		}
		if p, ok := schema["pattern"].(string); ok {
			re, err := compilePattern(p)
			if err != nil {
				*errs = append(*errs, fmt.Errorf("%s: schema pattern: %w", path, err))
			} else if !re.MatchString(x) {
				*errs = append(*errs, fmt.Errorf("%s: %q does not match the schema's pattern", path, x))
			}
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, item := range x {
				validateValue(item, items, fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	case map[string]any:
		if req, ok := schema["required"].([]any); ok {
			for _, k := range req {
				if _, ok := x[k.(string)]; !ok {
					*errs = append(*errs, fmt.Errorf("%s: required field %q is missing", path, k))
				}
			}
		}
		props, _ := schema["properties"].(map[string]any)
		patProps, _ := schema["patternProperties"].(map[string]any)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			child := path + "." + k
			matched := false
			if p, ok := props[k].(map[string]any); ok {
				validateValue(x[k], p, child, errs)
				matched = true
			}
			for pat, ps := range patProps {
				re, err := compilePattern(pat)
				if err != nil {
					*errs = append(*errs, fmt.Errorf("%s: schema pattern: %w", path, err))
					continue
				}
				if re.MatchString(k) {
					validateValue(x[k], ps.(map[string]any), child, errs)
					matched = true
				}
			}
			if matched {
				continue
			}
			switch ap := schema["additionalProperties"].(type) {
			case bool:
				if !ap {
					*errs = append(*errs, fmt.Errorf("%s: field not allowed", child))
				}
			case map[string]any:
				validateValue(x[k], ap, child, errs)
			}
		}
	}
}

func resolveRef(ref string) (map[string]any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("unsupported $ref %q", ref)
	}
	var cur any = schemaRoot
	for _, part := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("bad $ref %q", ref)
		}
		cur = m[part]
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("bad $ref %q", ref)
	}
	return m, nil
}

func typeMatches(v any, t any) bool {
	switch t := t.(type) {
	case string:
		return isType(v, t)
	case []any:
		for _, one := range t {
			if s, ok := one.(string); ok && isType(v, s) {
				return true
			}
		}
	}
	return false
}

func isType(v any, t string) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	}
	return false
}

func describe(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		b = append(b[:60], "..."...)
	}
	return string(b)
}

var jsEscape = regexp.MustCompile(`\\u([0-9a-fA-F]{4})`)

// compilePattern translates JavaScript's \uXXXX escapes to Go's \x{XXXX}.
func compilePattern(p string) (*regexp.Regexp, error) {
	if re, ok := patterns.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(jsEscape.ReplaceAllString(p, `\x{$1}`))
	if err != nil {
		return nil, err
	}
	patterns.Store(p, re)
	return re, nil
}
