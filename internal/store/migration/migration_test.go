package migration

import (
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
	}{
		{name: "no number", fsys: fstest.MapFS{"migrations/init.sql": {}}},
		{name: "short number", fsys: fstest.MapFS{"migrations/1_init.sql": {}}},
		{name: "version zero", fsys: fstest.MapFS{"migrations/0000_init.sql": {}}},
		{name: "same version twice", fsys: fstest.MapFS{
			"migrations/0001_a.sql": {},
			"migrations/0001_b.sql": {},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Load(tt.fsys); err == nil {
				t.Error("Load succeeded")
			}
		})
	}
}

func TestPendingSkipsAppliedAndRefusesUnknownVersions(t *testing.T) {
	ms := []Migration{{Version: 1}, {Version: 2}, {Version: 3}}
	todo, err := Pending(ms, map[int]bool{1: true, 3: true})
	if err != nil || len(todo) != 1 || todo[0].Version != 2 {
		t.Errorf("Pending = %+v, %v; want version 2 only", todo, err)
	}
	_, err = Pending(ms, map[int]bool{1: true, 7: true, 9: true})
	if err == nil || !strings.Contains(err.Error(), "version 7, 9 unknown") || !strings.Contains(err.Error(), "up to 3") {
		t.Errorf("Pending with newer versions: %v, want a refusal naming 7, 9 and 3", err)
	}
}

// versions lists the migration versions of a backend's source directory.
func versions(t *testing.T, backend string) []int {
	t.Helper()
	ms, err := Load(os.DirFS("../" + backend))
	if err != nil {
		t.Fatalf("%s: %v", backend, err)
	}
	var vs []int
	for i, m := range ms {
		if m.Version != i+1 {
			t.Errorf("%s: migration %s has version %d, want %d: versions are 1, 2, 3, ...", backend, m.Name, m.Version, i+1)
		}
		vs = append(vs, m.Version)
	}
	return vs
}

// TestBackendsHaveTheSameVersions fails when a migration is added to one
// backend and not the other: both must reach the same schema version, so
// that a binary's schema means one thing whatever the database.
func TestBackendsHaveTheSameVersions(t *testing.T) {
	sqlite, postgres := versions(t, "sqlite"), versions(t, "postgres")
	if len(sqlite) == 0 {
		t.Fatal("no sqlite migrations found")
	}
	if !slices.Equal(sqlite, postgres) {
		t.Errorf("internal/store/sqlite/migrations has versions %v, internal/store/postgres/migrations %v: each version needs a file in both (SQL per dialect)", sqlite, postgres)
	}
}
