package xrayaws

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/openxray/xray"
)

// field says how one field of an operation's input or output is recorded
// in the subsegment's aws block: key is the aws block's key, name the Go
// field, and read turns the field's value into what is recorded (false:
// nothing to record).
type field struct {
	key  string
	name string
	read func(reflect.Value) (any, bool)
}

// operation lists the fields recorded for one operation, from its input
// and from its output.
type operation struct {
	request, response []field
}

// anyOperation is the entry that applies to every operation of a service,
// for the fields that exist in its input or output.
const anyOperation = "*"

// parameters is what is recorded per service (by the SDK's service ID) and
// operation. Item values, message bodies, statement texts and object
// contents are never read: only names, counts and settings.
var parameters = map[string]map[string]operation{
	"DynamoDB": {
		anyOperation: {
			request: []field{
				{"table_name", "TableName", scalar},
				{"index_name", "IndexName", scalar},
				{"limit", "Limit", scalar},
				{"select", "Select", scalar},
				{"projection_expression", "ProjectionExpression", scalar},
				{"consistent_read", "ConsistentRead", scalar},
				{"scan_index_forward", "ScanIndexForward", scalar},
				{"segment", "Segment", scalar},
				{"total_segments", "TotalSegments", scalar},
				{"return_consumed_capacity", "ReturnConsumedCapacity", scalar},
			},
			response: []field{
				{"consumed_capacity", "ConsumedCapacity", snakeCased},
				{"count", "Count", scalar},
				{"scanned_count", "ScannedCount", scalar},
			},
		},
		"CreateTable": {request: []field{
			{"key_schema", "KeySchema", snakeCased},
			{"billing_mode", "BillingMode", scalar},
			{"provisioned_throughput", "ProvisionedThroughput", snakeCased},
		}},
		"UpdateTable": {request: []field{
			{"billing_mode", "BillingMode", scalar},
			{"provisioned_throughput", "ProvisionedThroughput", snakeCased},
		}},
		"ListTables": {
			request:  []field{{"exclusive_start_table_name", "ExclusiveStartTableName", scalar}, {"limit", "Limit", scalar}},
			response: []field{{"table_count", "TableNames", count}},
		},
		"BatchGetItem": {
			request:  []field{{"table_names", "RequestItems", mapKeys}, {"item_count", "RequestItems", keysCount}},
			response: []field{{"unprocessed_keys", "UnprocessedKeys", keysCount}},
		},
		"BatchWriteItem": {
			request:  []field{{"table_names", "RequestItems", mapKeys}, {"item_count", "RequestItems", valuesCount}},
			response: []field{{"unprocessed_items", "UnprocessedItems", valuesCount}},
		},
		"TransactGetItems": {request: []field{
			{"table_names", "TransactItems", transactTables},
			{"item_count", "TransactItems", count},
		}},
		"TransactWriteItems": {request: []field{
			{"table_names", "TransactItems", transactTables},
			{"item_count", "TransactItems", count},
		}},
		"ExecuteStatement": {request: []field{{"table_name", "Statement", statementTable}}},
		"BatchExecuteStatement": {request: []field{
			{"table_names", "Statements", statementTables},
			{"item_count", "Statements", count},
		}},
		"ExecuteTransaction": {request: []field{
			{"table_names", "TransactStatements", statementTables},
			{"item_count", "TransactStatements", count},
		}},
	},
	"S3": {
		anyOperation:    {request: []field{{"bucket_name", "Bucket", scalar}, {"key", "Key", scalar}}},
		"DeleteObjects": {request: []field{{"item_count", "Delete", deleteObjectsCount}}},
	},
	"SQS": {
		anyOperation: {request: []field{{"queue_url", "QueueUrl", scalar}}},
		"SendMessage": {
			request:  []field{{"delay_seconds", "DelaySeconds", scalar}},
			response: []field{{"message_id", "MessageId", scalar}},
		},
		"SendMessageBatch": {
			request:  []field{{"message_count", "Entries", count}},
			response: []field{{"failed_count", "Failed", count}},
		},
		"DeleteMessageBatch": {request: []field{{"message_count", "Entries", count}}},
		"ReceiveMessage": {
			request: []field{
				{"max_number_of_messages", "MaxNumberOfMessages", scalar},
				{"visibility_timeout", "VisibilityTimeout", scalar},
				{"wait_time_seconds", "WaitTimeSeconds", scalar},
			},
			response: []field{{"message_count", "Messages", count}},
		},
		"GetQueueUrl": {
			request:  []field{{"queue_name", "QueueName", scalar}},
			response: []field{{"queue_url", "QueueUrl", scalar}},
		},
	},
	"SNS": {
		anyOperation: {request: []field{{"topic_arn", "TopicArn", scalar}, {"target_arn", "TargetArn", scalar}}},
		"Publish":    {response: []field{{"message_id", "MessageId", scalar}}},
		"PublishBatch": {
			request:  []field{{"message_count", "PublishBatchRequestEntries", count}},
			response: []field{{"failed_count", "Failed", count}},
		},
	},
	"Lambda": {
		anyOperation: {request: []field{{"function_name", "FunctionName", scalar}, {"qualifier", "Qualifier", scalar}}},
		"Invoke": {
			request:  []field{{"invocation_type", "InvocationType", scalar}},
			response: []field{{"status_code", "StatusCode", scalar}, {"function_error", "FunctionError", scalar}},
		},
	},
}

// plan is an operation's fields resolved against the Go type of its input
// or output: the field indexes are looked up once per type.
type plan []planField

type planField struct {
	key   string
	index []int
	read  func(reflect.Value) (any, bool)
}

// The plans of inputs and of outputs, by type.
var requestPlans, responsePlans sync.Map // reflect.Type → plan

// planFor returns the plan for v's type (a pointer to an input or output
// struct) in service's operation.
func planFor(service, op string, typ reflect.Type, response bool) plan {
	plans := &requestPlans
	if response {
		plans = &responsePlans
	}
	if p, ok := plans.Load(typ); ok {
		return p.(plan)
	}
	var p plan
	if typ.Kind() == reflect.Pointer && typ.Elem().Kind() == reflect.Struct {
		st := typ.Elem()
		ops := parameters[service]
		for _, name := range [2]string{anyOperation, op} {
			fields := ops[name].request
			if response {
				fields = ops[name].response
			}
			for _, f := range fields {
				sf, ok := st.FieldByName(f.name)
				if !ok || !sf.IsExported() {
					continue
				}
				// An operation's own entry replaces the service-wide one.
				p = slices.DeleteFunc(p, func(pf planField) bool { return pf.key == f.key })
				p = append(p, planField{key: f.key, index: sf.Index, read: f.read})
			}
		}
	}
	plans.Store(typ, p)
	return p
}

// record sets in seg's aws block each field of v (a pointer to an input or
// output) that the plan records. A field whose value cannot be read is
// skipped.
func (p plan) record(v any, seg *xray.Segment) {
	if len(p) == 0 {
		return
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return
	}
	rv = rv.Elem()
	for _, f := range p {
		fv, err := rv.FieldByIndexErr(f.index)
		if err != nil {
			continue
		}
		if val, ok := f.read(fv); ok {
			setAWS(seg, f.key, val)
		}
	}
}

// scalar records a string, number or bool, or what a pointer points to;
// nil pointers and empty strings are left out.
func scalar(v reflect.Value) (any, bool) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, false
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		return s, s != ""
	case reflect.Bool:
		return v.Bool(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint(), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	}
	return nil, false
}

// count records the length of a slice or map.
func count(v reflect.Value) (any, bool) {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len(), true
	}
	return nil, false
}

// mapKeys records the sorted keys of a map with string keys (the table
// names of a batch request).
func mapKeys(v reflect.Value) (any, bool) {
	if v.Kind() != reflect.Map || v.Type().Key().Kind() != reflect.String || v.Len() == 0 {
		return nil, false
	}
	keys := make([]string, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		keys = append(keys, it.Key().String())
	}
	slices.Sort(keys)
	return keys, true
}

// valuesCount records the total length of a map's slice values: the
// write requests of BatchWriteItem, the unprocessed items of its answer.
func valuesCount(v reflect.Value) (any, bool) {
	if v.Kind() != reflect.Map {
		return nil, false
	}
	n := 0
	for it := v.MapRange(); it.Next(); {
		if e := it.Value(); e.Kind() == reflect.Slice {
			n += e.Len()
		}
	}
	return n, true
}

// keysCount records the number of keys in a map of KeysAndAttributes
// (BatchGetItem's request items and unprocessed keys).
func keysCount(v reflect.Value) (any, bool) {
	if v.Kind() != reflect.Map {
		return nil, false
	}
	n := 0
	for it := v.MapRange(); it.Next(); {
		e := it.Value()
		if e.Kind() == reflect.Pointer {
			if e.IsNil() {
				continue
			}
			e = e.Elem()
		}
		if e.Kind() != reflect.Struct {
			continue
		}
		if keys := e.FieldByName("Keys"); keys.IsValid() && keys.Kind() == reflect.Slice {
			n += keys.Len()
		}
	}
	return n, true
}

// transactTables records the sorted distinct table names of a list of
// transaction items: each item holds one action (Get, Put, Update,
// Delete, ConditionCheck), a pointer to a struct with a TableName.
func transactTables(v reflect.Value) (any, bool) {
	if v.Kind() != reflect.Slice {
		return nil, false
	}
	var names []string
	for i := range v.Len() {
		item := v.Index(i)
		if item.Kind() != reflect.Struct {
			continue
		}
		for j := range item.NumField() {
			action := item.Field(j)
			if action.Kind() != reflect.Pointer || action.IsNil() || action.Elem().Kind() != reflect.Struct {
				continue
			}
			if name, ok := scalar(action.Elem().FieldByName("TableName")); ok {
				names = appendUnique(names, name.(string))
			}
		}
	}
	slices.Sort(names)
	return names, len(names) > 0
}

// statementTable records the table a PartiQL statement reads or writes.
// The statement itself is not recorded: it may hold literal values.
func statementTable(v reflect.Value) (any, bool) {
	s, ok := scalar(v)
	if !ok {
		return nil, false
	}
	names := partiQLTables(nil, s.(string))
	if len(names) == 0 {
		return nil, false
	}
	return names[0], true
}

// statementTables records the sorted distinct tables of a list of PartiQL
// statements (structs with a Statement field).
func statementTables(v reflect.Value) (any, bool) {
	if v.Kind() != reflect.Slice {
		return nil, false
	}
	var names []string
	for i := range v.Len() {
		item := v.Index(i)
		if item.Kind() != reflect.Struct {
			continue
		}
		if s, ok := scalar(item.FieldByName("Statement")); ok {
			names = partiQLTables(names, s.(string))
		}
	}
	slices.Sort(names)
	return names, len(names) > 0
}

// deleteObjectsCount records the number of objects of an S3 DeleteObjects
// request.
func deleteObjectsCount(v reflect.Value) (any, bool) {
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, false
	}
	return count(v.Elem().FieldByName("Objects"))
}

func appendUnique(names []string, name string) []string {
	if slices.Contains(names, name) {
		return names
	}
	return append(names, name)
}

// snakeCased records a struct (or a slice or map of them) as JSON objects
// with snake_cased keys, leaving out nil pointers and unexported fields.
// It is used for what the service reports about itself (consumed
// capacity, key schema, throughput), never for items.
func snakeCased(v reflect.Value) (any, bool) {
	out, ok := snake(v, 0)
	return out, ok
}

func snake(v reflect.Value, depth int) (any, bool) {
	if depth > 4 {
		return nil, false
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil, false
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		m := make(map[string]any, t.NumField())
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			if val, ok := snake(v.Field(i), depth+1); ok {
				m[snakeCase(sf.Name)] = val
			}
		}
		return m, len(m) > 0
	case reflect.Slice:
		if v.Len() == 0 {
			return nil, false
		}
		list := make([]any, 0, v.Len())
		for i := range v.Len() {
			if val, ok := snake(v.Index(i), depth+1); ok {
				list = append(list, val)
			}
		}
		return list, len(list) > 0
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String || v.Len() == 0 {
			return nil, false
		}
		m := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			if val, ok := snake(it.Value(), depth+1); ok {
				m[it.Key().String()] = val
			}
		}
		return m, len(m) > 0
	}
	return scalar(v)
}

// snakeCase turns a Go field name into the aws block's style:
// ReadCapacityUnits → read_capacity_units, SSEDescription → sse_description.
func snakeCase(name string) string {
	var b strings.Builder
	b.Grow(len(name) + 4)
	runes := []rune(name)
	for i, r := range runes {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(runes[i-1]) || unicode.IsDigit(runes[i-1]) ||
				(i+1 < len(runes) && unicode.IsLower(runes[i+1]))) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
