package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/switchyard-gw/switchyard/internal/store/migration"
)

func TestReopenAppliesNoMigrationTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reopen.db")
	ctx := context.Background()
	first, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	before := appliedRows(t, first.r)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	ms, err := migration.Load(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != len(ms) || before[len(before)-1].version != ms[len(ms)-1].Version {
		t.Fatalf("schema_migrations after first open = %+v, want versions 1 to %d once each", before, ms[len(ms)-1].Version)
	}

	second := openTest(t, path)
	if after := appliedRows(t, second.r); !reflect.DeepEqual(after, before) {
		t.Errorf("schema_migrations after reopen = %+v, want unchanged %+v", after, before)
	}
	var accounts int
	if err := second.r.QueryRow(`SELECT count(*) FROM accounts`).Scan(&accounts); err != nil || accounts != 1 {
		t.Errorf("accounts after reopen: %d, %v; want the default account once", accounts, err)
	}
}

func TestNewerDatabaseIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "newer.db")
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, path)
	if err == nil {
		db.Close()
		t.Fatal("Open of a database migrated by a newer binary succeeded")
	}
	ms, lerr := migration.Load(migrationFiles)
	if lerr != nil {
		t.Fatal(lerr)
	}
	latest := strconv.Itoa(ms[len(ms)-1].Version)
	if msg := err.Error(); !strings.Contains(msg, "9999") || !strings.Contains(msg, "up to "+latest) {
		t.Errorf("error %q does not name the database's version 9999 and the binary's %s", msg, latest)
	}
}

func TestMigrateAppliesOnlyNewVersionsInOrder(t *testing.T) {
	ctx := context.Background()
	w, err := openPool(pragmaDSN(":memory:", true, false), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	clock := func() time.Time { return at(0) }

	v1 := fstest.MapFS{
		"migrations/0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);`)},
	}
	if err := migrate(ctx, w, v1, clock); err != nil {
		t.Fatalf("migrate v1: %v", err)
	}
	// 0001 would fail if run again (the table exists); 0003 needs 0002's table.
	v3 := fstest.MapFS{
		"migrations/0001_a.sql": v1["migrations/0001_a.sql"],
		"migrations/0003_c.sql": {Data: []byte(`INSERT INTO b VALUES (3);`)},
		"migrations/0002_b.sql": {Data: []byte(`CREATE TABLE b (x INTEGER);`)},
	}
	if err := migrate(ctx, w, v3, clock); err != nil {
		t.Fatalf("migrate v3: %v", err)
	}
	var versions []int
	for _, r := range appliedRows(t, w) {
		versions = append(versions, r.version)
	}
	if want := []int{1, 2, 3}; !reflect.DeepEqual(versions, want) {
		t.Errorf("applied versions = %v, want %v", versions, want)
	}
	var n int
	if err := w.QueryRow(`SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)`).Scan(&n); err != nil || n != 2 {
		t.Errorf("rows = %d, %v; want 2", n, err)
	}
}

func TestFailedMigrationLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	w, err := openPool(pragmaDSN(":memory:", true, false), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	bad := fstest.MapFS{
		"migrations/0001_half.sql": {Data: []byte(`CREATE TABLE half (x INTEGER); SELECT * FROM missing;`)},
	}
	err = migrate(ctx, w, bad, func() time.Time { return at(0) })
	if err == nil || !strings.Contains(err.Error(), "0001_half.sql") {
		t.Fatalf("migrate = %v, want an error naming 0001_half.sql", err)
	}
	var n int
	if err := w.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'half'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("table of the failed migration: count %d, %v; want rolled back", n, err)
	}
	if rows := appliedRows(t, w); len(rows) != 0 {
		t.Errorf("schema_migrations = %+v, want empty", rows)
	}
}

type appliedRow struct {
	version   int
	appliedAt int64
}

func appliedRows(t *testing.T, db *sql.DB) []appliedRow {
	t.Helper()
	rows, err := db.Query(`SELECT version, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []appliedRow
	for rows.Next() {
		var r appliedRow
		if err := rows.Scan(&r.version, &r.appliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigration0002UpgradesABillingDatabase upgrades a database of schema 1
// that has a charge recorded: the key's total usage is backfilled from the
// ledger, and the charge cannot be recorded twice afterwards.
func TestMigration0002UpgradesABillingDatabase(t *testing.T) {
	ctx := context.Background()
	w, err := openPool(pragmaDSN(":memory:", true, false), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	clock := func() time.Time { return at(0) }
	v1, err := fs.ReadFile(migrationFiles, "migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, w, fstest.MapFS{"migrations/0001_init.sql": {Data: v1}}, clock); err != nil {
		t.Fatalf("migrate to 1: %v", err)
	}
	hash := hashOf("sk-sy-old")
	for _, q := range []string{
		`INSERT INTO api_keys (hash, label, kind, account_id, created_at, updated_at) VALUES ('` + hash + `', 'l', 'api', 'acct-default', 0, 0)`,
		`INSERT INTO ledger_entries (account_id, key_hash, kind, amount_nanos, generation_id, created_at) VALUES ('acct-default', '` + hash + `', 'charge', -700, 'gen-1', 0)`,
		`INSERT INTO ledger_entries (account_id, key_hash, kind, amount_nanos, generation_id, created_at) VALUES ('acct-default', '` + hash + `', 'charge', -50, 'gen-2', 0)`,
	} {
		if _, err := w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrate(ctx, w, migrationFiles, clock); err != nil {
		t.Fatalf("migrate to latest: %v", err)
	}
	var total int64
	if err := w.QueryRow(`SELECT total_usage_nanos FROM api_keys WHERE hash = ?`, hash).Scan(&total); err != nil || total != 750 {
		t.Errorf("total_usage_nanos = %d, %v; want 750 from the ledger", total, err)
	}
	_, err = w.Exec(`INSERT INTO ledger_entries (account_id, kind, amount_nanos, generation_id, created_at) VALUES ('acct-default', 'charge', -1, 'gen-1', 0)`)
	if !isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
		t.Errorf("a second charge of gen-1: %v, want a unique constraint error", err)
	}
}
