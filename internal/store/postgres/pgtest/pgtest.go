// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema of the server named by $SWITCHYARD_TEST_POSTGRES, so that test
// packages run in parallel against one server without seeing each other.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/testenv"
)

// EnvVar names the server tests use, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvVar = "SWITCHYARD_TEST_POSTGRES"

// DSN creates a schema with a random name on the test server and returns
// a connection URL whose search_path is that schema; the schema is dropped
// when tb ends. Without a reachable server it skips tb, or fails it when
// $CI is "true": CI must not pass by skipping.
func DSN(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		testenv.Need(tb, "PostgreSQL", "$"+EnvVar+" is unset; e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("$%s is not a URL", EnvVar)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		testenv.Need(tb, "PostgreSQL", fmt.Sprintf("the server at $%s (%s) is unreachable: %v", EnvVar, u.Redacted(), err))
	}
	defer conn.Close(ctx)
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "switchyard_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		tb.Fatalf("create test schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("drop test schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
