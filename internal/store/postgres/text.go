package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// cleanPool and cleanTx pass every string argument of a statement through
// store.CleanText: PostgreSQL refuses text with a NUL byte or invalid UTF-8
// (SQLSTATE 22021), which would turn a lookup by a hostile id into a 500
// and a hostile name into a refused write. Cleaned, the lookup finds
// nothing and the name is stored with U+FFFD. Every statement of the store
// goes through them (DB.pool, DB.inTx); the ledger's batch is cleaned
// before it is encoded (store.Batch.CleanText), COPY included.
type cleanPool struct{ *pgxpool.Pool }

func (p cleanPool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return p.Pool.Exec(ctx, sql, cleanArgs(args)...)
}

func (p cleanPool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return p.Pool.Query(ctx, sql, cleanArgs(args)...)
}

func (p cleanPool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return p.Pool.QueryRow(ctx, sql, cleanArgs(args)...)
}

type cleanTx struct{ pgx.Tx }

func (t cleanTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.Tx.Exec(ctx, sql, cleanArgs(args)...)
}

func (t cleanTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.Tx.Query(ctx, sql, cleanArgs(args)...)
}

func (t cleanTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.Tx.QueryRow(ctx, sql, cleanArgs(args)...)
}

// cleanArgs returns args with its strings, string pointers and string
// slices cleaned; args itself when none needed it (the usual case: no
// copy), a copy otherwise, the caller's values untouched.
func cleanArgs(args []any) []any {
	out, copied := args, false
	set := func(i int, v any) {
		if !copied {
			out, copied = append([]any(nil), args...), true
		}
		out[i] = v
	}
	for i, a := range args {
		switch v := a.(type) {
		case string:
			if !store.TextIsClean(v) {
				set(i, store.CleanText(v))
			}
		case *string:
			if v != nil && !store.TextIsClean(*v) {
				c := store.CleanText(*v)
				set(i, &c)
			}
		case []string:
			for j, s := range v {
				if !store.TextIsClean(s) {
					c := append([]string(nil), v...)
					for k := j; k < len(c); k++ {
						c[k] = store.CleanText(c[k])
					}
					set(i, c)
					break
				}
			}
		}
	}
	return out
}
