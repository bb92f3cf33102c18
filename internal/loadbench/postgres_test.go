package loadbench

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/store/postgres/pgtest"
)

// TestFreshSchemaIsEmptyAndDropped: --postgres runs the gateway in a schema
// of its own, which starts empty and is gone once the run drops it.
func TestFreshSchemaIsEmptyAndDropped(t *testing.T) {
	base := pgtest.DSN(t) // skips without $SWITCHYARD_TEST_POSTGRES
	ctx := context.Background()
	dsn, drop, err := freshSchema(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var current string
	var tables int
	if err := conn.QueryRow(ctx, `SELECT current_schema(), (SELECT count(*) FROM pg_tables WHERE schemaname = current_schema())`).Scan(&current, &tables); err != nil {
		t.Fatal(err)
	}
	if current != schema || tables != 0 {
		t.Fatalf("current schema %q with %d tables; want the new schema %q, empty", current, tables, schema)
	}
	drop()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("schema %s still exists after drop", schema)
	}
}

func TestFreshSchemaRefusesOtherURLs(t *testing.T) {
	if _, _, err := freshSchema(context.Background(), "sqlite:///tmp/x.db"); err == nil {
		t.Fatal("freshSchema accepted a sqlite URL")
	}
}
