package xray

import (
	"encoding/json"
	"math"
	"strconv"
	"unsafe"

	"github.com/openxray/xray/internal/jsonx"
)

// value is an annotation, metadata or aws field value. Scalars are held
// without boxing or marshalling; other values as the JSON they marshal to,
// in str (kindRaw).
type value struct {
	kind valueKind
	num  uint64
	str  string
}

type valueKind uint8

const (
	kindString valueKind = iota
	kindBool
	kindInt
	kindUint
	kindFloat
	kindRaw
)

// scalar converts the string, bool, integer and float types; ok is false
// for other types.
func scalar(v any) (val value, ok bool) {
	switch v := v.(type) {
	case string:
		return value{kind: kindString, str: v}, true
	case bool:
		val.kind = kindBool
		if v {
			val.num = 1
		}
		return val, true
	case int:
		return intValue(int64(v)), true
	case int8:
		return intValue(int64(v)), true
	case int16:
		return intValue(int64(v)), true
	case int32:
		return intValue(int64(v)), true
	case int64:
		return intValue(v), true
	case uint:
		return uintValue(uint64(v)), true
	case uint8:
		return uintValue(uint64(v)), true
	case uint16:
		return uintValue(uint64(v)), true
	case uint32:
		return uintValue(uint64(v)), true
	case uint64:
		return uintValue(v), true
	case uintptr:
		return uintValue(uint64(v)), true
	case float32:
		return floatValue(float64(v)), true
	case float64:
		return floatValue(v), true
	}
	return value{}, false
}

// anyValue converts v, marshalling it with encoding/json unless it is a
// scalar.
func anyValue(v any) (value, error) {
	if val, ok := scalar(v); ok {
		return val, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return value{}, err
	}
	// raw is json.Marshal's own fresh buffer, never written again: it can
	// back the string without a copy.
	return value{kind: kindRaw, str: unsafe.String(unsafe.SliceData(raw), len(raw))}, nil
}

func intValue(v int64) value   { return value{kind: kindInt, num: uint64(v)} }
func uintValue(v uint64) value { return value{kind: kindUint, num: v} }

func floatValue(v float64) value {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		// JSON has no NaN or infinity: X-Ray would reject the document.
		return value{kind: kindString, str: strconv.FormatFloat(v, 'g', -1, 64)}
	}
	return value{kind: kindFloat, num: math.Float64bits(v)}
}

// appendJSON appends the value; strings are cut to strLimit characters
// when strLimit >= 0.
func (v *value) appendJSON(dst []byte, strLimit int) []byte {
	switch v.kind {
	case kindString:
		return jsonx.StringLimit(dst, v.str, strLimit)
	case kindBool:
		return strconv.AppendBool(dst, v.num != 0)
	case kindInt:
		return strconv.AppendInt(dst, int64(v.num), 10)
	case kindUint:
		return strconv.AppendUint(dst, v.num, 10)
	case kindFloat:
		return jsonx.Float(dst, math.Float64frombits(v.num))
	default:
		return append(dst, v.str...)
	}
}

// field is a keyed value: an annotation or an aws field.
type field struct {
	key string
	val value
}

// setField replaces the value of key or appends it.
func setField(fields []field, key string, val value) []field {
	for i := range fields {
		if fields[i].key == key {
			fields[i].val = val
			return fields
		}
	}
	return append(fields, field{key: key, val: val})
}

// metaEntry is one metadata value in a namespace.
type metaEntry struct {
	ns string
	field
}

func setMeta(entries []metaEntry, ns, key string, val value) []metaEntry {
	for i := range entries {
		if entries[i].ns == ns && entries[i].key == key {
			entries[i].val = val
			return entries
		}
	}
	return append(entries, metaEntry{ns: ns, field: field{key: key, val: val}})
}

func appendFields(dst []byte, fields []field, strLimit int) []byte {
	for i := range fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonx.String(dst, fields[i].key)
		dst = append(dst, ':')
		dst = fields[i].val.appendJSON(dst, strLimit)
	}
	return dst
}

// appendMetadata writes entries grouped by namespace, namespaces in the
// order they were first used.
func appendMetadata(dst []byte, entries []metaEntry, truncated bool) []byte {
	dst = append(dst, `,"metadata":{`...)
	first := true
	for i := range entries {
		if !firstOfNamespace(entries, i) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsonx.String(dst, entries[i].ns)
		dst = append(dst, ':')
		dst = appendNamespace(dst, entries, i)
	}
	if truncated {
		if !first {
			dst = append(dst, ',')
		}
		dst = append(dst, `"openxray":{"truncated":true}`...)
	}
	return append(dst, '}')
}

// firstOfNamespace reports whether entries[i] is the first entry of its
// namespace.
func firstOfNamespace(entries []metaEntry, i int) bool {
	for j := 0; j < i; j++ {
		if entries[j].ns == entries[i].ns {
			return false
		}
	}
	return true
}

// appendNamespace appends the JSON object of entries[i]'s namespace: its
// entries from i on (i being the first of them).
func appendNamespace(dst []byte, entries []metaEntry, i int) []byte {
	ns := entries[i].ns
	dst = append(dst, '{')
	n := 0
	for j := i; j < len(entries); j++ {
		if entries[j].ns != ns {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = jsonx.String(dst, entries[j].key)
		dst = append(dst, ':')
		dst = entries[j].val.appendJSON(dst, -1)
	}
	return append(dst, '}')
}
