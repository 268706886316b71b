package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xrayhttp"
	"github.com/openxray/xray/xraytest"
)

// Real HTTP requests against PostgreSQL: one segment per request, the GORM
// subsegments under it, no parameter value anywhere.
func TestTracedRequests(t *testing.T) {
	d := xraytest.NewDaemon(t)
	r, err := xray.New(xray.Config{DaemonAddr: d.Addr(), SamplingStrategy: sampling.Always})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())

	db, err := Open("host=127.0.0.1 port=5432 user=postgres password=exampleS3cret dbname=test sslmode=disable")
	if err != nil {
		t.Fatalf("PostgreSQL unreachable (scripts/test starts it): %v", err)
	}
	db.Exec("DELETE FROM orders")
	db.Exec("DELETE FROM users")
	u := User{Name: "Grace Secret", Email: "grace@example.com", Orders: []Order{{TotalCents: 4200, Status: "completed"}, {TotalCents: 100, Status: "open"}}}
	if err := db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(db, xrayhttp.WithRecorder(r)))
	defer srv.Close()
	for _, path := range []string{"/users/" + strint(u.ID), "/users", "/users/999999"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var body any
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	docs := d.WaitDocuments(t, 3, 5*time.Second)
	if len(docs) != 3 {
		t.Fatalf("%d documents, want one segment per request", len(docs))
	}
	for _, doc := range docs {
		if err := xraytest.Validate(doc); err != nil {
			t.Error(err)
		}
		if doc.Name() != "users-api" || len(doc.Subsegments()) == 0 {
			t.Errorf("segment %v", doc)
		}
	}
	// /users/{id}: the user, then its orders (Preload).
	if subs := docs[0].Subsegments(); len(subs) != 2 {
		t.Errorf("/users/{id} has %d subsegments, want 2", len(subs))
	}
	if status := docs[2].Object("http")["response"].(map[string]any)["status"]; status != 404.0 || !docs[2].Bool("error") {
		t.Errorf("missing user: %v", docs[2].Object("http"))
	}
	var raw strings.Builder
	for _, dg := range d.Datagrams() {
		raw.Write(dg.Raw)
	}
	for _, secret := range []string{"exampleS3cret", "grace@example.com", "Grace Secret", "completed"} {
		if strings.Contains(raw.String(), secret) {
			t.Errorf("%q reached the daemon", secret)
		}
	}
}

func strint(n uint) string {
	b, _ := json.Marshal(n)
	return string(b)
}
