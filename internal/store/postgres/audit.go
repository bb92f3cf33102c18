package postgres

import (
	"context"
	"fmt"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/store"
)

var _ store.Audit = (*DB)(nil)

// AppendAudit stores e; a zero At means now.
func (db *DB) AppendAudit(ctx context.Context, e *store.AuditEntry) error {
	e.At = store.OrNow(e.At, db.now())
	vals, err := store.AuditValues(e)
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO audit_log (`+store.AuditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, vals...); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// ListAudit returns the entries q selects, newest first.
func (db *DB) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	where, args, err := q.Where(func(i int) string { return "$" + strconv.Itoa(i) })
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	args = append(args, q.Limit)
	rows, err := db.pool.Query(ctx, `SELECT `+store.AuditColumns+` FROM audit_log `+where+` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		e, err := store.ScanAudit(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
