package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// LeakReport says where and when a key was reported found in public, by
// GitHub secret scanning (the gateway disables such a key). It is kept in
// the key's row as JSON, so the account sees it with the key.
type LeakReport struct {
	At time.Time `json:"at"`
	// URL is where the key was found (a commit, an issue, a gist).
	URL string `json:"url"`
	// Source is what kind of place that is, as the reporter names it
	// ("commit", "issue_comment", …).
	Source string `json:"source"`
}

// LeakColumn is the stored form of r: "" for none, else its JSON.
func LeakColumn(r *LeakReport) (string, error) {
	if r == nil {
		return "", nil
	}
	b, err := json.Marshal(LeakReport{At: r.At.UTC(), URL: r.URL, Source: r.Source})
	if err != nil {
		return "", fmt.Errorf("leak_report: %w", err)
	}
	return string(b), nil
}

// ParseLeakColumn reads what LeakColumn wrote.
func ParseLeakColumn(s string) (*LeakReport, error) {
	if s == "" {
		return nil, nil
	}
	var r LeakReport
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil, fmt.Errorf("leak_report: %w", err)
	}
	return &r, nil
}
