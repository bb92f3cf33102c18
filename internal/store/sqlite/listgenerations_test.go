package sqlite

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// A listing by model alone reads generations_model_created (0017), not
// every row through generations_created (docs/benchmarks.md: 2.7 s p50 at
// 1,000,000 rows without it, 0.35 ms with it).
func TestListingByModelUsesItsIndex(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "switchyard.db"))
	q := store.GenerationQuery{Model: "gpt-4o", Limit: 50}
	where, args, err := q.Where(func(n int) string { return "?" + strconv.Itoa(n) })
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.r.QueryContext(context.Background(), `EXPLAIN QUERY PLAN SELECT `+generationColumns+
		` FROM generations WHERE `+where+` ORDER BY created_at DESC, id DESC LIMIT 50`, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "generations_model_created") {
		t.Errorf("the plan of a listing by model: %s", p)
	}
}
