package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/store/postgres/pgtest"
)

// TestServeAndKeysOnPostgres points storage.database at PostgreSQL: the
// keys command and serve open it by its scheme, a key made by the CLI is
// served, a restart keeps the keys, and the URL's password never reaches
// the output or the logs.
func TestServeAndKeysOnPostgres(t *testing.T) {
	u, err := url.Parse(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	// The test server trusts its clients, so the password is never sent;
	// it is there to be kept out of the logs.
	const password = "pg-Secret-0123456789"
	u.User = url.UserPassword(u.User.Username(), password)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "switchyard.yaml", "storage:\n  database: ${DB_URL}\n")
	env := map[string]string{"SWITCHYARD_DATA": dir, "DB_URL": u.String()}

	code, out, errOut := runCLI(t, env, "keys", "create", "--config", cfg, "--name", "carol")
	carol := plaintextKey.FindString(out)
	if code != 0 || carol == "" {
		t.Fatalf("keys create: exit %d: %s %s", code, out, errOut)
	}
	// The key is in PostgreSQL, not in a file named after the URL.
	conn, err := pgx.Connect(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM api_keys WHERE name = 'carol'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("carol's key rows in PostgreSQL: %d, %v; want 1", n, err)
	}
	var stderr string
	for i := range 2 { // the start, then the restart
		s := startServe(t, env, "--config", cfg)
		// The first start bootstraps the admin and demo keys, the restart
		// finds them stored.
		if printed := strings.Contains(s.stdout.String(), "sk-sy-"); printed != (i == 0) {
			t.Errorf("start %d printed keys: %v, want %v:\n%s", i+1, printed, i == 0, s.stdout.String())
		}
		if status, text := chat(t, s.base, carol); status != http.StatusOK || text == "" {
			t.Fatalf("start %d: chat with the CLI's key: status %d, text %q", i+1, status, text)
		}
		line, _ := logLine(s.stderr.String(), "switchyard listening")
		if db, _ := line["database"].(string); !strings.HasPrefix(db, "postgres://") || !strings.Contains(db, "xxxxx") {
			t.Errorf("start %d: logged database %q, want the postgres URL with its password masked", i+1, db)
		}
		if code := s.stop(t); code != 0 {
			t.Fatalf("start %d: serve exited %d:\n%s", i+1, code, s.stderr.String())
		}
		stderr += s.stderr.String() + s.stdout.String()
	}
	if strings.Contains(stderr+out+errOut, password) {
		t.Fatal("the database password is in the output or the logs")
	}
}
