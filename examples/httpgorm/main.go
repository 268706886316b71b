// Command httpgorm is the seed's Flask-SQLAlchemy example in Go: an HTTP
// service whose requests are segments (xrayhttp) and whose GORM queries are
// subsegments (xraygorm).
//
//	go run ./examples/httpgorm -dsn "host=127.0.0.1 user=postgres dbname=test sslmode=disable"
//
// GET /users/{id} loads a user with their orders; GET /users lists the
// users with completed orders.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"log"
	"net/http"
	"strconv"

	"github.com/openxray/xray/contrib/xraygorm"
	"github.com/openxray/xray/xrayhttp"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// User is a customer.
type User struct {
	ID     uint    `json:"id"`
	Name   string  `json:"name"`
	Email  string  `json:"email" gorm:"uniqueIndex"`
	Orders []Order `json:"orders,omitempty"`
}

// Order belongs to a user.
type Order struct {
	ID         uint   `json:"id"`
	UserID     uint   `json:"user_id"`
	TotalCents int    `json:"total_cents"`
	Status     string `json:"status"`
}

func main() {
	dsn := flag.String("dsn", "host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable", "PostgreSQL DSN")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	db, err := Open(*dsn)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on http://%s/users", *addr)
	log.Fatal(http.ListenAndServe(*addr, Handler(db)))
}

// Open connects GORM with the X-Ray plugin and creates the tables.
func Open(dsn string) (*gorm.DB, error) {
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, err
	}
	if err := db.Use(xraygorm.NewPlugin()); err != nil {
		return nil, err
	}
	return db, db.AutoMigrate(&User{}, &Order{})
}

// Handler serves the API, each request a segment named "users-api";
// opts go to xrayhttp.Handler.
func Handler(db *gorm.DB, opts ...xrayhttp.Option) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil {
			http.Error(w, "bad id", http.StatusBadRequest)
			return
		}
		var u User
		err = db.WithContext(r.Context()).Preload("Orders").First(&u, id).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		json.NewEncoder(w).Encode(u)
	})
	mux.HandleFunc("GET /users", func(w http.ResponseWriter, r *http.Request) {
		var users []User
		err := db.WithContext(r.Context()).
			Joins("JOIN orders ON orders.user_id = users.id AND orders.status = ?", "completed").
			Distinct().Find(&users).Error
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		json.NewEncoder(w).Encode(users)
	})
	return xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("users-api"), mux, opts...)
}
