package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/store"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn        string
		wantPath   string
		wantMemory bool
		wantErr    bool
	}{
		{dsn: "sqlite://./x.db", wantPath: "./x.db"},
		{dsn: "sqlite:///abs/x.db", wantPath: "/abs/x.db"},
		{dsn: "sqlite://data/x.db", wantPath: "data/x.db"},
		{dsn: "/var/lib/switchyard/x.db", wantPath: "/var/lib/switchyard/x.db"},
		{dsn: "x.db", wantPath: "x.db"},
		{dsn: ":memory:", wantMemory: true},
		{dsn: "sqlite://:memory:", wantMemory: true},
		{dsn: "", wantErr: true},
		{dsn: "sqlite://", wantErr: true},
		{dsn: "sqlite://x.db?mode=ro", wantErr: true},
		{dsn: "file:x.db", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			path, memory, err := parseDSN(tt.dsn)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseDSN(%q) error = %v, want error %v", tt.dsn, err, tt.wantErr)
			}
			if path != tt.wantPath || memory != tt.wantMemory {
				t.Errorf("parseDSN(%q) = %q, %v; want %q, %v", tt.dsn, path, memory, tt.wantPath, tt.wantMemory)
			}
		})
	}
}

func TestOpenAcceptsEveryDSNForm(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, dsn := range []string{
		"sqlite://./relative.db",
		"sqlite://" + filepath.Join(dir, "absolute.db"),
		filepath.Join(dir, "plain.db"),
		"sqlite://" + filepath.Join(dir, "new", "dir", "nested.db"),
	} {
		t.Run(dsn, func(t *testing.T) {
			db := openTest(t, dsn)
			if err := db.SetMeta(context.Background(), "probe", "1"); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, name := range []string{"relative.db", "absolute.db", "plain.db", "new/dir/nested.db"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("database file not created: %v", err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, mode)
		}
	}
}

func TestMemoryDatabasesAreSeparate(t *testing.T) {
	a, b := openTest(t, ":memory:"), openTest(t, ":memory:")
	if err := a.SetMeta(context.Background(), "owner", "a"); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Meta(context.Background(), "owner"); err != nil || v != "" {
		t.Errorf("b.Meta = %q, %v; want it unset", v, err)
	}
}

func TestFileDatabaseSettings(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "settings.db"))
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		pool   *sql.DB
		pragma string
		want   string
	}{
		{name: "writer", pool: db.w, pragma: "journal_mode", want: "wal"},
		{name: "reader", pool: db.r, pragma: "journal_mode", want: "wal"},
		{name: "writer", pool: db.w, pragma: "synchronous", want: "1"}, // NORMAL
		{name: "writer", pool: db.w, pragma: "foreign_keys", want: "1"},
		{name: "writer", pool: db.w, pragma: "busy_timeout", want: "5000"},
		{name: "reader", pool: db.r, pragma: "busy_timeout", want: "5000"},
		{name: "reader", pool: db.r, pragma: "query_only", want: "1"},
	} {
		t.Run(tt.name+"/"+tt.pragma, func(t *testing.T) {
			var got string
			if err := tt.pool.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
			}
		})
	}
}

func TestForeignKeysEnforcedInMemory(t *testing.T) {
	db := openTest(t, ":memory:")
	var on int
	if err := db.w.QueryRow("PRAGMA foreign_keys").Scan(&on); err != nil || on != 1 {
		t.Errorf("PRAGMA foreign_keys = %d, %v; want 1", on, err)
	}
}

func TestDefaultAccountExists(t *testing.T) {
	backends(t, func(t *testing.T, db *DB) {
		var (
			name    string
			credits sql.NullInt64
			spent   int64
		)
		err := db.r.QueryRow(`SELECT name, credits_nanos, spent_nanos FROM accounts WHERE id = ?`,
			store.DefaultAccountID).Scan(&name, &credits, &spent)
		if err != nil {
			t.Fatalf("default account: %v", err)
		}
		if name != "default" || credits.Valid || spent != 0 {
			t.Errorf("default account = %q, credits %v, spent %d; want \"default\", unmetered, 0", name, credits, spent)
		}
	})
}

func TestFileHoldsNoPlaintextKey(t *testing.T) {
	const plaintext = "sk-sy-PLAINTEXT-CHECK"
	path := filepath.Join(t.TempDir(), "plain.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	k := &store.Key{Hash: hashOf(plaintext), Label: "sk-sy-PL…CK", Name: "check", Kind: store.KindAPI}
	if err := db.CreateKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}

	check := func(when string) {
		t.Helper()
		var all []byte
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			b, err := os.ReadFile(path + suffix)
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		if bytes.Contains(all, []byte(plaintext)) || bytes.Contains(all, []byte("PLAINTEXT-CHECK")) {
			t.Errorf("%s: database files contain the plaintext key", when)
		}
		// The search itself works: the hash is there.
		if !bytes.Contains(all, []byte(k.Hash)) {
			t.Errorf("%s: database files do not contain the key hash; is the search looking at the right files?", when)
		}
	}
	check("while open")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	check("after close")
}
