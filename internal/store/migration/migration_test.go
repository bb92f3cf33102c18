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

// lastUnmarkedContraction is the last PostgreSQL migration written before
// the rule below; 0008 and 0015 among them break the release before them
// (docs/operations.md, "Upgrading several instances").
const lastUnmarkedContraction = 15

// TestPostgresContractionsSayWhatTheyBreak: several instances share one
// PostgreSQL, and in a rolling upgrade the first new instance migrates
// while old ones still serve. A migration that drops or renames what the
// previous release reads or writes breaks those instances. Each such
// statement must follow a "-- contract:" comment saying why the previous
// release still works (nothing of it uses the object), or that it does
// not and the upgrade needs every instance stopped (then operations.md
// lists the version). Dropping an index only costs speed: it is allowed.
func TestPostgresContractionsSayWhatTheyBreak(t *testing.T) {
	ms, err := Load(os.DirFS("../postgres"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version <= lastUnmarkedContraction {
			continue
		}
		for _, f := range contractionsWithoutNote(m.SQL) {
			t.Errorf("postgres migration %s: %q drops or renames without a preceding \"-- contract:\" comment", m.Name, f)
		}
	}
}

func TestContractionRuleCatchesDropsAndRenames(t *testing.T) {
	sql := `ALTER TABLE a ADD COLUMN x INT;
DROP INDEX IF EXISTS a_x;
ALTER TABLE a DROP COLUMN y;
-- contract: nothing since 0012 reads z.
ALTER TABLE a DROP COLUMN z;

ALTER TABLE a RENAME COLUMN p TO q;
DROP FUNCTION f(INT);
alter table a alter column r type text;
`
	got := contractionsWithoutNote(sql)
	want := []string{"ALTER TABLE a DROP COLUMN y;", "ALTER TABLE a RENAME COLUMN p TO q;", "DROP FUNCTION f(INT);", "alter table a alter column r type text;"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// contractionsWithoutNote returns the lines of sql that drop (but for an
// index), rename or retype something and are not in a statement group
// that a "-- contract:" comment opens. A blank line ends the group.
func contractionsWithoutNote(sql string) []string {
	var out []string
	noted := false
	for _, line := range strings.Split(sql, "\n") {
		l := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case l == "":
			noted = false
		case strings.HasPrefix(l, "-- CONTRACT:"):
			noted = true
		case strings.HasPrefix(l, "--"):
		case (strings.Contains(l, "DROP ") && !strings.Contains(l, "DROP INDEX")) ||
			strings.Contains(l, " RENAME ") ||
			(strings.Contains(l, "ALTER COLUMN") && strings.Contains(l, " TYPE ")):
			if !noted {
				out = append(out, strings.TrimSpace(line))
			}
		}
	}
	return out
}
