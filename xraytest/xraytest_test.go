package xraytest_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray/xraytest"
)

func TestValidate(t *testing.T) {
	good := xraytest.Document{
		"name": "svc", "id": "70de5b6f19ff9a0a", "trace_id": "1-581cf771-a006649127e371903a2de979",
		"start_time": 1478293361.271, "end_time": 1478293361.449,
		"annotations": map[string]any{"k": "v", "n": 1.0},
		"subsegments": []any{map[string]any{"name": "sub", "id": "70de5b6f19ff9a0b", "start_time": 1.0, "end_time": 2.0}},
	}
	if err := xraytest.Validate(good); err != nil {
		t.Fatal(err)
	}
	bad := map[string]xraytest.Document{
		"missing id":      {"name": "svc", "trace_id": "1-581cf771-a006649127e371903a2de979", "start_time": 1.0},
		"short id":        {"name": "svc", "id": "70de", "trace_id": "1-581cf771-a006649127e371903a2de979", "start_time": 1.0},
		"bad name":        {"name": "svc<>", "id": "70de5b6f19ff9a0a", "trace_id": "1-581cf771-a006649127e371903a2de979", "start_time": 1.0},
		"bad annotation":  {"name": "svc", "id": "70de5b6f19ff9a0a", "trace_id": "1-581cf771-a006649127e371903a2de979", "start_time": 1.0, "annotations": map[string]any{"bad key": 1.0}},
		"object metadata": {"name": "svc", "id": "70de5b6f19ff9a0a", "trace_id": "1-581cf771-a006649127e371903a2de979", "start_time": 1.0, "metadata": map[string]any{"default": 1.0}},
		"string time":     {"name": "svc", "id": "70de5b6f19ff9a0a", "trace_id": "1-581cf771-a006649127e371903a2de979", "start_time": "now"},
		"bad cause":       {"name": "svc", "id": "70de5b6f19ff9a0a", "trace_id": "1-581cf771-a006649127e371903a2de979", "start_time": 1.0, "cause": 3.0},
	}
	for name, doc := range bad {
		if err := xraytest.Validate(doc); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := xraytest.Validate(xraytest.Document{"name": "Ünïcödé name 123", "id": "70de5b6f19ff9a0a", "trace_id": "1-581cf771-a006649127e371903a2de979", "start_time": 1.0}); err != nil {
		t.Errorf("unicode name: %v", err)
	}
}

func TestParse(t *testing.T) {
	for _, in := range []string{
		"{\"format\":\"json\",\"version\":1}\n{\"name\":\"a\"}",
		"{\"format\": \"json\", \"version\": 1}\n{\"name\":\"a\"}",
	} {
		if dg := xraytest.Parse([]byte(in)); dg.Err != nil || dg.Doc.Name() != "a" {
			t.Errorf("Parse(%q) = %+v", in, dg)
		}
	}
	for _, in := range []string{"", "{\"name\":\"a\"}", "{\"format\":\"xml\",\"version\":1}\n{}", "{\"format\":\"json\",\"version\":1}\nnot json", "{\"format\":\"json\"}\n{}"} {
		if dg := xraytest.Parse([]byte(in)); dg.Err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

func TestDaemonAndAssemble(t *testing.T) {
	d := xraytest.NewDaemon(t)
	conn, err := net.Dial("udp", d.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const h = "{\"format\":\"json\",\"version\":1}\n"
	conn.Write([]byte(h + `{"name":"child","id":"bbbbbbbbbbbbbbbb","type":"subsegment","parent_id":"aaaaaaaaaaaaaaaa","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1,"end_time":2}`))
	conn.Write([]byte(h + `{"name":"root","id":"aaaaaaaaaaaaaaaa","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1,"end_time":2}`))
	conn.Write([]byte(h + `{"name":"lost","id":"cccccccccccccccc","type":"subsegment","parent_id":"dddddddddddddddd","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1,"end_time":2}`))
	docs := d.WaitDocuments(t, 3, 5*time.Second)
	segs, orphans := xraytest.Assemble(docs)
	if len(segs) != 1 || segs[0].Find("child") == nil || len(orphans) != 1 || orphans[0].Name() != "lost" {
		t.Fatalf("segments %v, orphans %v", segs, orphans)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := d.Wait(ctx, 4); err == nil || !strings.Contains(err.Error(), "3 datagrams") {
		t.Errorf("Wait past the datagrams that came: %v", err)
	}
}

func TestWaitTrace(t *testing.T) {
	d := xraytest.NewDaemon(t)
	conn, err := net.Dial("udp", d.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const h = "{\"format\":\"json\",\"version\":1}\n"
	// The subsegment first, alone; its segment after.
	conn.Write([]byte(h + `{"name":"child","id":"bbbbbbbbbbbbbbbb","type":"subsegment","parent_id":"aaaaaaaaaaaaaaaa","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1,"end_time":2}`))
	conn.Write([]byte(h + `{"name":"root","id":"aaaaaaaaaaaaaaaa","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1,"end_time":2}`))
	doc := d.WaitTrace(t, "1-581cf771-a006649127e371903a2de979", 5*time.Second)
	if doc.Name() != "root" || doc.Find("child") == nil {
		t.Fatalf("assembled %v", doc)
	}
}
