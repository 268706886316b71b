package xrayaws

import (
	"slices"
	"testing"
)

func TestPartiQLTables(t *testing.T) {
	for stmt, want := range map[string][]string{
		`SELECT * FROM "Music" WHERE Artist = ?`:                      {"Music"},
		`select a FROM Music.ByArtist where a = 'FROM "Secret"'`:      {"Music"},
		`SELECT * FROM "Music"."ByArtist" WHERE Artist='x'`:           {"Music"},
		`INSERT INTO "my-table.v2" VALUE {'id': 'secret', 'n': 1}`:    {"my-table.v2"},
		`UPDATE "Music" SET Awards = 'it''s UPDATE "x"' WHERE id = 1`: {"Music"},
		`DELETE FROM Orders WHERE id = 'o1'`:                          {"Orders"},
		`EXISTS(SELECT * FROM "Stock" WHERE id = 'w' AND qty > 0)`:    {"Stock"},
		`SELECT * FROM "We""ird" WHERE id = ?`:                        {`We"ird`},
		`SELECT * FROM (`:                                             nil,
		`SELECT * FROM "unterminated`:                                 nil,
		`'unterminated FROM secret`:                                   nil,
		``:                                                            nil,
	} {
		if got := partiQLTables(nil, stmt); !slices.Equal(got, want) {
			t.Errorf("partiQLTables(%q) = %q, want %q", stmt, got, want)
		}
	}
}

func FuzzPartiQLTables(f *testing.F) {
	f.Add(`SELECT * FROM "Music" WHERE a = 'x'`)
	f.Add(`UPDATE T SET a = 'FROM x' WHERE b = ''''`)
	f.Fuzz(func(t *testing.T, stmt string) {
		for _, name := range partiQLTables(nil, stmt) {
			if name == "" {
				t.Errorf("empty table name from %q", stmt)
			}
		}
	})
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"TableName":              "table_name",
		"ReadCapacityUnits":      "read_capacity_units",
		"GlobalSecondaryIndexes": "global_secondary_indexes",
		"SSEDescription":         "sse_description",
		"QueueUrl":               "queue_url",
		"Table":                  "table",
		"S3Key":                  "s3_key",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}
