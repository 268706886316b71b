package xraypgx

import (
	"bytes"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
)

// The rewritten stream decodes as the same messages, with the comment on
// the statements of Parse and Query and nothing else changed.
func TestRewrite(t *testing.T) {
	var in []byte
	var err error
	for _, m := range []pgproto3.FrontendMessage{
		&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": "u"}},
		&pgproto3.Parse{Name: "", Query: "SELECT $1::int;", ParameterOIDs: []uint32{23}},
		&pgproto3.Bind{Parameters: [][]byte{[]byte("7")}},
		&pgproto3.Describe{ObjectType: 'P'},
		&pgproto3.Execute{},
		&pgproto3.Query{String: "SELECT 1 /* mine */"},
		&pgproto3.Query{String: "SELECT 2"},
		&pgproto3.Sync{},
	} {
		if in, err = m.Encode(in); err != nil {
			t.Fatal(err)
		}
	}
	const c = " /*traceparent='00-x-y-01'*/"
	out, ok := rewrite(nil, in, c)
	if !ok {
		t.Fatal("a whole stream was refused")
	}
	b := pgproto3.NewBackend(bytes.NewReader(out), nil)
	if _, err := b.ReceiveStartupMessage(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 7 {
		m, err := b.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *pgproto3.Parse:
			got = append(got, m.Query)
			if len(m.ParameterOIDs) != 1 || m.ParameterOIDs[0] != 23 {
				t.Errorf("parameter types: %v", m.ParameterOIDs)
			}
		case *pgproto3.Query:
			got = append(got, m.String)
		case *pgproto3.Bind:
			if string(m.Parameters[0]) != "7" {
				t.Errorf("bind: %q", m.Parameters)
			}
		}
	}
	want := []string{"SELECT $1::int" + c + ";", "SELECT 1 /* mine */", "SELECT 2" + c}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("statements %q, want %q", got, want)
	}
	if _, ok := rewrite(nil, in[:len(in)-3], c); ok {
		t.Error("a cut stream was rewritten")
	}
}

func FuzzRewrite(f *testing.F) {
	q, _ := (&pgproto3.Query{String: "SELECT 1"}).Encode(nil)
	p, _ := (&pgproto3.Parse{Query: "SELECT $1"}).Encode(nil)
	f.Add(append(q, p...))
	f.Add([]byte{0, 0, 0, 8, 0, 3, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		rewrite(nil, in, " /*c*/")
	})
}
