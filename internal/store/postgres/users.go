package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
	_, err = db.pool.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.ID, u.Email, u.AccountID, string(u.Role), u.PasswordHash, u.Disabled, created, updated)
	switch {
	case isCode(err, uniqueViolation):
		return fmt.Errorf("create user %s: %w", u.Email, store.ErrConflict)
	case isCode(err, foreignKeyViolation):
		return fmt.Errorf("create user: account %q: %w", u.AccountID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("create user: %w", err)
	}
	u.CreatedAt, u.UpdatedAt = store.FromUnixNanos(created), store.FromUnixNanos(updated)
	return nil
}

func scanUser(row pgx.Row) (store.User, error) {
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
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE `+where+` = $1`, arg))
	if errors.Is(err, pgx.ErrNoRows) {
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
	rows, err := db.pool.Query(ctx, `SELECT `+userColumns+` FROM users
		WHERE $1 = '' OR account_id = $1 ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out, err := collectRows(rows, func(r pgx.CollectableRow) (store.User, error) { return scanUser(r) })
	if err != nil {
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
	tag, err := db.pool.Exec(ctx, `UPDATE users SET email = $1, role = $2, password_hash = $3, disabled = $4, updated_at = $5
		WHERE id = $6`, u.Email, string(u.Role), u.PasswordHash, u.Disabled, updated, u.ID)
	if isCode(err, uniqueViolation) {
		return fmt.Errorf("update user %s: email %s: %w", u.ID, u.Email, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("user %s: %w", u.ID, store.ErrNotFound)
	}
	u.UpdatedAt = store.FromUnixNanos(updated)
	return nil
}

// DeleteUser deletes the user and their sessions.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete user %s: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("user %s: %w", id, store.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM console_sessions WHERE user_id = $1`, id); err != nil {
			return fmt.Errorf("delete user %s: %w", id, err)
		}
		return nil
	})
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
	_, err := db.pool.Exec(ctx, `INSERT INTO console_sessions (id_hash, user_id, key_hash, csrf, created_at, seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, s.IDHash, s.UserID, s.KeyHash, s.CSRF, t[0], t[1], t[2])
	if isCode(err, uniqueViolation) {
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
	err := db.pool.QueryRow(ctx, `SELECT id_hash, user_id, key_hash, csrf, created_at, seen_at, expires_at
		FROM console_sessions WHERE id_hash = $1`, idHash).Scan(&s.IDHash, &s.UserID, &s.KeyHash, &s.CSRF, &c, &seen, &exps)
	if errors.Is(err, pgx.ErrNoRows) {
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
	tag, err := db.pool.Exec(ctx, `UPDATE console_sessions SET seen_at = $1 WHERE id_hash = $2`, n, idHash)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("session: %w", store.ErrNotFound)
	}
	return nil
}

// DeleteSession ends one session.
func (db *DB) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of userID.
func (db *DB) DeleteUserSessions(ctx context.Context, userID string) (int64, error) {
	if userID == "" {
		return 0, nil
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM console_sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("delete user sessions: %w", err)
	}
	return tag.RowsAffected(), nil
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
	tag, err := db.pool.Exec(ctx, `DELETE FROM console_sessions WHERE expires_at <= $1 OR seen_at <= $2`, n, idle)
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	total := tag.RowsAffected()
	tag, err = db.pool.Exec(ctx, `DELETE FROM console_sessions WHERE id_hash IN
		(SELECT id_hash FROM console_sessions ORDER BY seen_at DESC, id_hash OFFSET $1)`, max)
	if err != nil {
		return total, fmt.Errorf("prune sessions: %w", err)
	}
	return total + tag.RowsAffected(), nil
}

// CountSessions returns how many sessions are stored.
func (db *DB) CountSessions(ctx context.Context) (int64, error) {
	var n int64
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM console_sessions`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count sessions: %w", err)
	}
	return n, nil
}
