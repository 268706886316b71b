package otlpin

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Convert turns OTLP spans into X-Ray segment documents, the mapping the
// OpenXRay exporter (and the OpenTelemetry collector's awsxray exporter)
// applies, read backwards: a SERVER or CONSUMER span, or a span whose
// parent is in another process, becomes a segment named after its
// service; any other span a subsegment sent on its own, under its parent.
// Spans the viewer cannot place (no trace or span ID) are skipped and
// counted in skipped.
func Convert(td ptrace.Traces) (docs [][]byte, skipped int) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := rs.Resource().Attributes()
		service := "unknown_service"
		if v, ok := res.Get("service.name"); ok && v.AsString() != "" {
			service = v.AsString()
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				doc, ok := convertSpan(spans.At(k), service, res)
				if !ok {
					skipped++
					continue
				}
				b, err := json.Marshal(doc)
				if err != nil {
					skipped++
					continue
				}
				docs = append(docs, b)
			}
		}
	}
	return docs, skipped
}

func convertSpan(s ptrace.Span, service string, res pcommon.Map) (map[string]any, bool) {
	tid, sid := s.TraceID(), s.SpanID()
	if tid.IsEmpty() || sid.IsEmpty() {
		return nil, false
	}
	th := hex.EncodeToString(tid[:])
	attrs := s.Attributes()
	kind := s.Kind()
	parent := s.ParentSpanID()
	// The flags' "parent is remote" bits, when the sender set them.
	remoteParent := s.Flags()&0x300 == 0x300
	isSegment := kind == ptrace.SpanKindServer || kind == ptrace.SpanKindConsumer || parent.IsEmpty() || remoteParent
	doc := map[string]any{
		"id":         hex.EncodeToString(sid[:]),
		"trace_id":   "1-" + th[:8] + "-" + th[8:],
		"start_time": seconds(s.StartTimestamp()),
	}
	if end := s.EndTimestamp(); end >= s.StartTimestamp() && end > 0 {
		doc["end_time"] = seconds(end)
	} else {
		doc["in_progress"] = true
	}
	if !parent.IsEmpty() {
		doc["parent_id"] = hex.EncodeToString(parent[:])
	}
	name := s.Name()
	if isSegment {
		name = service
		doc["origin"] = "OpenTelemetry"
	} else {
		doc["type"] = "subsegment"
	}
	if name == "" {
		name = "span"
	}
	doc["name"] = truncate(name, 200)

	get := func(keys ...string) (pcommon.Value, bool) {
		for _, k := range keys {
			if v, ok := attrs.Get(k); ok {
				return v, true
			}
		}
		return pcommon.Value{}, false
	}
	str := func(keys ...string) string {
		if v, ok := get(keys...); ok {
			return v.AsString()
		}
		return ""
	}
	used := map[string]bool{}
	use := func(keys ...string) {
		for _, k := range keys {
			used[k] = true
		}
	}

	// Namespace: what the span called.
	if !isSegment {
		switch {
		case str("rpc.system") == "aws-api" || str("aws.xray.namespace") == "aws":
			doc["namespace"] = "aws"
			if svc := str("rpc.service"); svc != "" {
				doc["name"] = svc
			}
		case kind == ptrace.SpanKindClient || kind == ptrace.SpanKindProducer || str("aws.xray.namespace") == "remote":
			doc["namespace"] = "remote"
		}
	}
	use("rpc.system", "rpc.service", "aws.xray.namespace", "aws.xray.origin", "aws.xray.sampling_rule")

	// Status and flags.
	status := 0
	if v, ok := get("http.response.status_code", "http.status_code"); ok {
		status = int(v.Int())
		if v.Type() == pcommon.ValueTypeStr {
			status, _ = strconv.Atoi(v.Str())
		}
	}
	fault := s.Status().Code() == ptrace.StatusCodeError || boolAttr(attrs, "aws.xray.fault") || status >= 500
	throttle := boolAttr(attrs, "aws.xray.throttle") || status == 429
	errFlag := boolAttr(attrs, "aws.xray.error") || (status >= 400 && status < 500)
	if fault {
		doc["fault"] = true
	}
	if errFlag {
		doc["error"] = true
	}
	if throttle {
		doc["throttle"] = true
	}
	use("aws.xray.fault", "aws.xray.error", "aws.xray.throttle")

	// http.
	method := str("http.request.method", "http.method")
	url := str("url.full", "http.url")
	if url == "" && (str("url.path") != "" || str("http.target") != "") {
		url = str("url.scheme") + "://" + str("server.address", "net.host.name") + str("url.path", "http.target")
	}
	if method != "" || url != "" || status != 0 {
		req := map[string]any{}
		setStr(req, "method", method)
		setStr(req, "url", url)
		setStr(req, "user_agent", str("user_agent.original", "http.user_agent"))
		setStr(req, "client_ip", str("client.address", "http.client_ip"))
		if !isSegment {
			req["traced"] = true
		}
		h := map[string]any{"request": req}
		if status != 0 {
			resp := map[string]any{"status": status}
			if v, ok := get("http.response.body.size", "http.response_content_length"); ok {
				resp["content_length"] = v.Int()
			}
			h["response"] = resp
		}
		doc["http"] = h
	}
	use("http.request.method", "http.method", "url.full", "http.url", "user_agent.original", "http.user_agent",
		"client.address", "http.client_ip", "http.response.status_code", "http.status_code", "http.response.body.size",
		"http.response_content_length")

	// sql: the statement the sender recorded (OpenXRay records it
	// sanitized; another SDK's choice is its own).
	if system := str("db.system.name", "db.system"); system != "" {
		sql := map[string]any{}
		setStr(sql, "database_type", system)
		setStr(sql, "sanitized_query", str("db.query.text", "db.statement"))
		host, port, db := str("server.address", "net.peer.name"), str("server.port", "net.peer.port"), str("db.namespace", "db.name")
		if host != "" {
			hp := host
			if port != "" {
				hp = net.JoinHostPort(host, port)
			}
			sql["url"] = system + "://" + hp + "/" + db
		}
		setStr(sql, "database_version", str("db.system.version"))
		setStr(sql, "driver_version", str("aws.xray.sql.driver_version"))
		setStr(sql, "preparation", str("aws.xray.sql.preparation"))
		doc["sql"] = sql
		if !isSegment {
			doc["namespace"] = "remote"
		}
		use("db.system.name", "db.system", "db.query.text", "db.statement", "server.address", "server.port",
			"db.namespace", "db.name", "db.system.version", "aws.xray.sql.driver_version", "aws.xray.sql.preparation",
			"db.operation.name", "db.collection.name", "net.peer.name", "net.peer.port")
	}

	// aws.
	aws := map[string]any{}
	setStr(aws, "operation", str("rpc.method"))
	setStr(aws, "region", str("aws.region", "cloud.region"))
	setStr(aws, "request_id", str("aws.request_id", "aws.request.id"))
	if v, ok := get("aws.dynamodb.table_names"); ok {
		if v.Type() == pcommon.ValueTypeSlice && v.Slice().Len() == 1 {
			aws["table_name"] = v.Slice().At(0).AsString()
		} else {
			aws["table_names"] = v.AsRaw()
		}
	}
	use("rpc.method", "aws.region", "aws.request_id", "aws.request.id", "aws.dynamodb.table_names")
	attrs.Range(func(k string, v pcommon.Value) bool {
		if rest, ok := strings.CutPrefix(k, "aws."); ok && !used[k] && !strings.HasPrefix(k, "aws.xray.") && !strings.Contains(rest, ".") {
			aws[rest] = v.AsRaw()
			use(k)
		}
		return true
	})
	if isSegment {
		aws["xray"] = map[string]any{"sdk": sdkOf(res)}
	}
	if len(aws) > 0 {
		doc["aws"] = aws
	}

	// Annotations: the keys listed in aws.xray.annotations (indexed), with
	// X-Ray's key rules. Metadata: aws.xray.metadata.<ns> as written by
	// OpenXRay, every other attribute under "otel".
	annotations := map[string]any{}
	if v, ok := get("aws.xray.annotations"); ok && v.Type() == pcommon.ValueTypeSlice {
		for i := 0; i < v.Slice().Len(); i++ {
			k := v.Slice().At(i).AsString()
			if av, ok := attrs.Get(k); ok {
				annotations[annotationKey(k)] = scalar(av)
				use(k)
			}
		}
	}
	use("aws.xray.annotations")
	if len(annotations) > 0 {
		doc["annotations"] = annotations
	}
	metadata := map[string]any{}
	other := map[string]any{}
	attrs.Range(func(k string, v pcommon.Value) bool {
		if used[k] {
			return true
		}
		if ns, ok := strings.CutPrefix(k, "aws.xray.metadata."); ok && ns != "" {
			var m any
			if json.Unmarshal([]byte(v.AsString()), &m) == nil {
				metadata[ns] = m
				return true
			}
		}
		other[k] = v.AsRaw()
		return true
	})
	if ts := s.TraceState().AsRaw(); ts != "" {
		other["w3c.tracestate"] = ts
	}
	if isSegment && s.Name() != "" && s.Name() != service {
		// A segment is named after its service; the span's own name (its
		// operation, such as "GET /cart") is kept here.
		other["span.name"] = s.Name()
	}
	if len(other) > 0 {
		metadata["otel"] = other
	}
	if len(metadata) > 0 {
		doc["metadata"] = metadata
	}
	if isSegment && str("enduser.id") != "" {
		doc["user"] = str("enduser.id")
	}

	// Exceptions.
	var exceptions []any
	events := s.Events()
	for i := 0; i < events.Len(); i++ {
		ev := events.At(i)
		if ev.Name() != "exception" {
			continue
		}
		ea := ev.Attributes()
		ex := map[string]any{"id": fmt.Sprintf("%016x", uint64(i+1)^sidUint(sid))}
		if v, ok := ea.Get("exception.type"); ok {
			ex["type"] = v.AsString()
		}
		if v, ok := ea.Get("exception.message"); ok {
			ex["message"] = v.AsString()
		}
		if v, ok := ea.Get("exception.stacktrace"); ok {
			if st := parseStack(v.AsString()); len(st) > 0 {
				ex["stack"] = st
			}
		}
		if v, ok := ea.Get("aws.xray.exception.remote"); ok && v.Bool() {
			ex["remote"] = true
		}
		exceptions = append(exceptions, ex)
	}
	if len(exceptions) > 0 {
		doc["cause"] = map[string]any{"exceptions": exceptions}
		if !fault && !errFlag {
			doc["fault"] = true
		}
	}
	return doc, true
}

func seconds(t pcommon.Timestamp) float64 { return float64(t) / 1e9 }

func setStr(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func boolAttr(m pcommon.Map, k string) bool {
	v, ok := m.Get(k)
	return ok && v.Type() == pcommon.ValueTypeBool && v.Bool()
}

func scalar(v pcommon.Value) any {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return truncate(v.Str(), 1000)
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return v.Double()
	}
	return truncate(v.AsString(), 1000)
}

// annotationKey applies X-Ray's rule for annotation keys: letters, digits
// and underscores; others become underscores.
func annotationKey(k string) string {
	b := []byte(truncate(k, 500))
	for i, c := range b {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b[i] = '_'
		}
	}
	return string(b)
}

func sdkOf(res pcommon.Map) string {
	name, version := "OpenTelemetry", ""
	if v, ok := res.Get("telemetry.sdk.name"); ok {
		name = v.AsString()
	}
	if v, ok := res.Get("telemetry.sdk.language"); ok {
		name += " for " + v.AsString()
	}
	if v, ok := res.Get("telemetry.sdk.version"); ok {
		version = " " + v.AsString()
	}
	return name + version
}

func sidUint(s pcommon.SpanID) uint64 {
	var u uint64
	for _, b := range s {
		u = u<<8 | uint64(b)
	}
	return u
}

// parseStack reads a stack in Go's format (function, then tab, file:line),
// which OpenXRay and OpenTelemetry's Go SDK write; other formats are kept
// as one frame's label.
func parseStack(s string) []any {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var frames []any
	for i := 0; i < len(lines) && len(frames) < 64; i++ {
		fn := strings.TrimSpace(lines[i])
		if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t") {
			loc := strings.TrimSpace(lines[i+1])
			if sp := strings.LastIndexByte(loc, ' '); sp > 0 { // "file:line +0x1f"
				loc = loc[:sp]
			}
			file, line := loc, 0
			if c := strings.LastIndexByte(loc, ':'); c > 0 {
				file = loc[:c]
				line, _ = strconv.Atoi(loc[c+1:])
			}
			frames = append(frames, map[string]any{"label": fn, "path": file, "line": line})
			i++
			continue
		}
		if fn != "" {
			frames = append(frames, map[string]any{"label": fn})
		}
	}
	return frames
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
