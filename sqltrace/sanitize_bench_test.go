package sqltrace

import "testing"

// BenchmarkSanitize is the cost of sanitizing a statement the first time it
// is seen (later runs of the same statement hit the tracer's cache).
func BenchmarkSanitize(b *testing.B) {
	queries := []string{
		"SELECT id, name, email FROM users WHERE id = $1",
		"SELECT * FROM orders WHERE user_id = 42 AND status = 'open' AND created_at > '2026-01-01' ORDER BY id LIMIT 10",
		"INSERT INTO events (kind, payload, at) VALUES ('click', '{\"x\": 1, \"y\": 2}', now()) RETURNING id",
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, q := range queries {
			sanitize(q, QuerySanitized, typePostgreSQL, DefaultMaxQueryLen)
		}
	}
}
