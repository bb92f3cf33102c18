package sqlite

import (
	"context"
	"fmt"

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
	if _, err := db.w.ExecContext(ctx, `INSERT INTO audit_log (`+store.AuditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, vals...); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// ListAudit returns the entries q selects, newest first.
func (db *DB) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	where, args, err := q.Where(func(int) string { return "?" })
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+store.AuditColumns+` FROM audit_log `+where+` ORDER BY id DESC LIMIT ?`, append(args, q.Limit)...)
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
