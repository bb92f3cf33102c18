package postgres

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/store/migration"
	"github.com/switchyard-gw/switchyard/internal/store/postgres/pgtest"
)

// appliedVersions lists schema_migrations, in order.
func appliedVersions(t *testing.T, db *DB) []int {
	t.Helper()
	rows, err := db.pool.Query(context.Background(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func latestVersion(t *testing.T) int {
	t.Helper()
	ms, err := migration.Load(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	return ms[len(ms)-1].Version
}

// TestInstancesStartingTogetherMigrateOnce opens several gateways' stores
// at once on one fresh schema: the advisory lock makes one apply the
// migrations and the others find them applied, so every Open succeeds and
// every version is recorded once.
func TestInstancesStartingTogetherMigrateOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	const instances = 4
	dbs := make([]*DB, instances)
	errs := make([]error, instances)
	var wg sync.WaitGroup
	for i := range instances {
		wg.Go(func() { dbs[i], errs[i] = Open(ctx, dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: Open: %v", i, err)
			continue
		}
		defer dbs[i].Close()
	}
	if t.Failed() {
		return
	}
	got := appliedVersions(t, dbs[0])
	if len(got) != latestVersion(t) {
		t.Errorf("schema_migrations = %v, want 1 to %d once each", got, latestVersion(t))
	}
	for i, v := range got {
		if v != i+1 {
			t.Errorf("schema_migrations = %v, want 1 to %d once each", got, latestVersion(t))
			break
		}
	}
	accounts, err := dbs[1].ListAccounts(ctx)
	if err != nil || len(accounts) != 1 {
		t.Errorf("accounts = %+v, %v; want the default account once", accounts, err)
	}
}

func TestReopenAppliesNoMigrationTwice(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	first, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	before := appliedVersions(t, first)
	first.Close()
	second, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if after := appliedVersions(t, second); len(after) != len(before) || len(after) != latestVersion(t) {
		t.Errorf("schema_migrations after reopen = %v, before %v", after, before)
	}
}

func TestNewerDatabaseIsRefused(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, dsn)
	if err == nil {
		db.Close()
		t.Fatal("Open of a database migrated by a newer binary succeeded")
	}
	if !strings.Contains(err.Error(), "9999") || !strings.Contains(err.Error(), "newer switchyard") {
		t.Errorf("error %q does not name the unknown version", err)
	}
}

func TestRedactHidesPasswords(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"postgres://gw:s3cret@db:5432/sy?sslmode=require", "postgres://gw:xxxxx@db:5432/sy?sslmode=require"},
		{"postgresql://gw@db/sy?password=s3cret&sslmode=disable", "postgresql://gw@db/sy?password=xxxxx&sslmode=disable"},
		{"postgres://db/sy", "postgres://db/sy"},
		{"postgres://gw:s3cret@db:port/sy", "(unparsable database URL)"},
	}
	for _, tt := range tests {
		if got := Redact(tt.dsn); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.dsn, got, tt.want)
		}
	}
}

// TestOpenErrorsNeverShowThePassword opens databases that cannot be
// reached or parsed: the error names the database, never its password.
func TestOpenErrorsNeverShowThePassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://gw:s3cret-pw@127.0.0.1:1/sy?connect_timeout=2",
		"postgres://gw:s3cret-pw@127.0.0.1:5432/sy?sslmode=bogus",
		"postgres://gw:s3cret-pw@[::1/sy",
	} {
		_, err := Open(context.Background(), dsn)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", dsn)
		}
		if strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
}

// TestOpenUnreachableNamesTheSetting: a server that does not answer is
// reported as a connection failure naming storage.database, the fix.
func TestOpenUnreachableNamesTheSetting(t *testing.T) {
	_, err := Open(context.Background(), "postgres://gw:s3cret-pw@127.0.0.1:1/sy?connect_timeout=2")
	if err == nil || !strings.Contains(err.Error(), "cannot connect; check storage.database") ||
		!strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("Open of a closed port: %v", err)
	}
}
