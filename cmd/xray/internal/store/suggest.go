package store

import (
	"context"
)

// Suggestions are what the viewer's search builder offers: the services
// and root names stored, and the annotation keys with their most common
// values.
type Suggestions struct {
	Services    []string            `json:"services"`
	Names       []string            `json:"names"`
	Annotations map[string][]string `json:"annotations"`
}

// Bounds of one answer.
const (
	maxSuggestions     = 100 // services, names, annotation keys
	maxSuggestedValues = 20  // per annotation key, the most frequent
)

// Suggest reads the search builder's suggestions.
func (s *Store) Suggest(ctx context.Context) (*Suggestions, error) {
	out := &Suggestions{Services: []string{}, Names: []string{}, Annotations: map[string][]string{}}
	list := func(q string, args ...any) ([]string, error) {
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var vs []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				return nil, err
			}
			vs = append(vs, v)
		}
		return vs, rows.Err()
	}
	var err error
	if out.Services, err = list(`SELECT DISTINCT name FROM services ORDER BY name LIMIT ?`, maxSuggestions); err != nil {
		return nil, err
	}
	if out.Names, err = list(`SELECT DISTINCT root_name FROM traces ORDER BY root_name LIMIT ?`, maxSuggestions); err != nil {
		return nil, err
	}
	keys, err := list(`SELECT DISTINCT key FROM annotations ORDER BY key LIMIT ?`, maxSuggestions)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		vs, err := list(`SELECT value FROM annotations WHERE key = ? GROUP BY value ORDER BY count(*) DESC, value LIMIT ?`, k, maxSuggestedValues)
		if err != nil {
			return nil, err
		}
		out.Annotations[k] = vs
	}
	if out.Services == nil {
		out.Services = []string{}
	}
	if out.Names == nil {
		out.Names = []string{}
	}
	return out, nil
}
