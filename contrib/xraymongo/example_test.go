package xraymongo_test

import (
	"github.com/openxray/xray/contrib/xraymongo"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Commands, databases and collections become annotations: traces can be
// searched with annotation.mongodb_collection_name = "users".
func ExampleWithAnnotations() {
	client, err := mongo.Connect(xraymongo.Client(xraymongo.WithAnnotations()).ApplyURI("mongodb://127.0.0.1:27017"))
	if err != nil {
		return
	}
	_ = client
}
