package xray_test

import (
	"testing"

	"github.com/openxray/xray/xraytest"
)

// validate checks doc against AWS's published segment schema.
func validate(t *testing.T, doc xraytest.Document) {
	t.Helper()
	if err := xraytest.Validate(doc); err != nil {
		t.Errorf("document does not match the segment schema: %v\n%v", err, doc)
	}
}
