package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/switchyard-gw/switchyard/internal/store"
)

var (
	_ store.Users    = (*DB)(nil)
	_ store.Sessions = (*DB)(nil)
)

const userColumns = `id, email, account_id, role, password_hash, disabled, created_at, updated_at`

// CreateUser inserts u; store.ErrConflict if its id or email exists,
// store.ErrNotFound if its account does not.
func (db *DB) CreateUser(ctx context.Context, u *store.User) error {
	if u.ID == "" || u.AccountID == "" || u.PasswordHash == "" {
		return errors.New("create user: id, account and password hash are required")
	}
	u.Email = store.NormalEmail(u.Email)
	created, err := store.UnixNanos(store.OrNow(u.CreatedAt, db.now()))
	if err != nil {
		return fmt.Errorf("create user: created_at: %w", err)
	}
	updated := created
	if !u.UpdatedAt.IsZero() {
		if updated, err = store.UnixNanos(u.UpdatedAt); err != nil {
			return fmt.Errorf("create user: updated_at: %w", err)
		}
	}
	_, err = db.w.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.AccountID, string(u.Role), u.PasswordHash, u.Disabled, created, updated)
	switch {
	case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY), isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE):
		return fmt.Errorf("create user %s: %w", u.Email, store.ErrConflict)
	case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY):
		return fmt.Errorf("create user: account %q: %w", u.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("create user: %w", err)
	}
	u.CreatedAt, u.UpdatedAt = store.FromUnixNanos(created), store.FromUnixNanos(updated)
	return nil
}

func scanUser(row interface{ Scan(...any) error }) (store.User, error) {
	var (
		u                store.User
		role             string
		created, updated int64
	)
	err := row.Scan(&u.ID, &u.Email, &u.AccountID, &role, &u.PasswordHash, &u.Disabled, &created, &updated)
	u.Role = store.UserRole(role)
	u.CreatedAt, u.UpdatedAt = store.FromUnixNanos(created), store.FromUnixNanos(updated)
	return u, err
}

func (db *DB) getUser(ctx context.Context, where, arg string) (*store.User, error) {
	u, err := scanUser(db.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+where+` = ?`, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("user %s: %w", arg, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return &u, nil
}

// GetUser returns the user id, or store.ErrNotFound.
func (db *DB) GetUser(ctx context.Context, id string) (*store.User, error) {
	return db.getUser(ctx, "id", id)
}

// GetUserByEmail returns the user with this email, or store.ErrNotFound.
func (db *DB) GetUserByEmail(ctx context.Context, email string) (*store.User, error) {
	return db.getUser(ctx, "email", store.NormalEmail(email))
}

// ListUsers returns the users of accountID ("" for all), oldest first.
func (db *DB) ListUsers(ctx context.Context, accountID string) ([]store.User, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE ? = '' OR account_id = ? ORDER BY created_at, id`, accountID, accountID)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UpdateUser writes u's email, role, password hash and disabled flag.
func (db *DB) UpdateUser(ctx context.Context, u *store.User) error {
	u.Email = store.NormalEmail(u.Email)
	updated, err := store.UnixNanos(db.now())
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	res, err := db.w.ExecContext(ctx, `UPDATE users SET email = ?, role = ?, password_hash = ?, disabled = ?, updated_at = ?
		WHERE id = ?`, u.Email, string(u.Role), u.PasswordHash, u.Disabled, updated, u.ID)
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
		return fmt.Errorf("update user %s: email %s: %w", u.ID, u.Email, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("user %s: %w", u.ID, store.ErrNotFound)
	}
	u.UpdatedAt = store.FromUnixNanos(updated)
	return nil
}

// DeleteUser deletes the user and their sessions.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("user %s: %w", id, store.ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE user_id = ?`, id); err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	return nil
}

// CreateSession inserts s; store.ErrConflict if its id hash exists.
func (db *DB) CreateSession(ctx context.Context, s *store.Session) error {
	var t [3]int64
	for i, v := range []time.Time{s.CreatedAt, s.SeenAt, s.ExpiresAt} {
		var err error
		if t[i], err = store.UnixNanos(v); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO console_sessions (id_hash, user_id, key_hash, csrf, created_at, seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, s.IDHash, s.UserID, s.KeyHash, s.CSRF, t[0], t[1], t[2])
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return fmt.Errorf("create session: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// GetSession returns the session with this id hash, or store.ErrNotFound.
func (db *DB) GetSession(ctx context.Context, idHash string) (*store.Session, error) {
	var (
		s             store.Session
		c, seen, exps int64
	)
	err := db.r.QueryRowContext(ctx, `SELECT id_hash, user_id, key_hash, csrf, created_at, seen_at, expires_at
		FROM console_sessions WHERE id_hash = ?`, idHash).Scan(&s.IDHash, &s.UserID, &s.KeyHash, &s.CSRF, &c, &seen, &exps)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("session: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	s.CreatedAt, s.SeenAt, s.ExpiresAt = store.FromUnixNanos(c), store.FromUnixNanos(seen), store.FromUnixNanos(exps)
	return &s, nil
}

// TouchSession sets the session's SeenAt.
func (db *DB) TouchSession(ctx context.Context, idHash string, seen time.Time) error {
	n, err := store.UnixNanos(seen)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	res, err := db.w.ExecContext(ctx, `UPDATE console_sessions SET seen_at = ? WHERE id_hash = ?`, n, idHash)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	if k, err := res.RowsAffected(); err != nil || k == 0 {
		return fmt.Errorf("session: %w", store.ErrNotFound)
	}
	return nil
}

// DeleteSession ends one session.
func (db *DB) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM console_sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of userID.
func (db *DB) DeleteUserSessions(ctx context.Context, userID string) (int64, error) {
	if userID == "" {
		return 0, nil
	}
	res, err := db.w.ExecContext(ctx, `DELETE FROM console_sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("delete user sessions: %w", err)
	}
	return res.RowsAffected()
}

// PruneSessions deletes expired and idle sessions, then the least recently
// seen beyond max.
func (db *DB) PruneSessions(ctx context.Context, now, idleSince time.Time, max int) (int64, error) {
	n, err := store.UnixNanos(now)
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	idle, err := store.UnixNanos(idleSince)
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	res, err := db.w.ExecContext(ctx, `DELETE FROM console_sessions WHERE expires_at <= ? OR seen_at <= ?`, n, idle)
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	total, _ := res.RowsAffected()
	res, err = db.w.ExecContext(ctx, `DELETE FROM console_sessions WHERE id_hash IN
		(SELECT id_hash FROM console_sessions ORDER BY seen_at DESC, id_hash LIMIT -1 OFFSET ?)`, max)
	if err != nil {
		return total, fmt.Errorf("prune sessions: %w", err)
	}
	more, _ := res.RowsAffected()
	return total + more, nil
}

// CountSessions returns how many sessions are stored.
func (db *DB) CountSessions(ctx context.Context) (int64, error) {
	var n int64
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM console_sessions`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count sessions: %w", err)
	}
	return n, nil
}
