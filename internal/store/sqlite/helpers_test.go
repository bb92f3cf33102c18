package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"
)

// backends opens a fresh database of each kind Open supports and runs f on it.
func backends(t *testing.T, f func(t *testing.T, db *DB)) {
	t.Helper()
	for _, name := range []string{"file", "memory"} {
		t.Run(name, func(t *testing.T) {
			dsn := ":memory:"
			if name == "file" {
				dsn = filepath.Join(t.TempDir(), "switchyard.db")
			}
			f(t, openTest(t, dsn))
		})
	}
}

func openTest(t testing.TB, dsn string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open(%q): %v", dsn, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// hashOf returns the stored id of plaintext key.
func hashOf(plaintext string) string {
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}

// at returns a UTC time n nanoseconds after a fixed instant.
func at(n int64) time.Time {
	return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n))
}
