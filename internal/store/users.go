package store

import (
	"context"
	"strings"
	"time"
)

// UserRole is what a user may do in their account.
type UserRole string

const (
	// RoleOwner has the rights of the account's management key.
	RoleOwner UserRole = "owner"
	// RoleMember reads what the account's management key reads and changes
	// nothing but their own password.
	RoleMember UserRole = "member"
)

// User is a person who signs in to the console with an email and a
// password; a member of one account.
type User struct {
	ID string
	// Email is unique, compared case-insensitively: stored as NormalEmail.
	Email     string
	AccountID string
	Role      UserRole
	// PasswordHash is the encoded argon2id hash (package password); never
	// the password.
	PasswordHash string
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// NormalEmail is the stored and compared form of an email address:
// trimmed and lower case.
func NormalEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Users keeps console users.
type Users interface {
	// CreateUser inserts u (its Email normalised); ErrConflict if the id
	// or the email exists, ErrNotFound if the account does not. Zero times
	// mean now.
	CreateUser(ctx context.Context, u *User) error
	// GetUser returns the user id, or ErrNotFound.
	GetUser(ctx context.Context, id string) (*User, error)
	// GetUserByEmail returns the user with this email (any case), or
	// ErrNotFound.
	GetUserByEmail(ctx context.Context, email string) (*User, error)
	// ListUsers returns the users of accountID ("" for every account),
	// oldest first.
	ListUsers(ctx context.Context, accountID string) ([]User, error)
	// UpdateUser writes u's email, role, password hash and disabled flag
	// (UpdatedAt set to now); ErrNotFound, or ErrConflict on a taken email.
	UpdateUser(ctx context.Context, u *User) error
	// DeleteUser deletes the user and their sessions; ErrNotFound if absent.
	DeleteUser(ctx context.Context, id string) error
}

// Session is a signed-in console browser. The browser holds the session
// id; the store holds only its SHA-256, so a copy of the database cannot be
// used to sign in. A session is a user's (UserID) or a key's (KeyHash: the
// key itself is never kept).
type Session struct {
	IDHash    string
	UserID    string
	KeyHash   string
	CSRF      string
	CreatedAt time.Time
	SeenAt    time.Time
	// ExpiresAt is the absolute end; idleness is judged by SeenAt.
	ExpiresAt time.Time
}

// Sessions keeps console sessions, so they survive restarts and are shared
// by every gateway instance of one database.
type Sessions interface {
	// CreateSession inserts s; ErrConflict if its IDHash exists.
	CreateSession(ctx context.Context, s *Session) error
	// GetSession returns the session with this id hash, or ErrNotFound. It
	// does not judge expiry: the caller does, with its idle timeout.
	GetSession(ctx context.Context, idHash string) (*Session, error)
	// TouchSession sets SeenAt; ErrNotFound if the session is gone.
	TouchSession(ctx context.Context, idHash string, seen time.Time) error
	// DeleteSession ends one session (no error if it is already gone).
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteUserSessions ends every session of userID; returns how many.
	DeleteUserSessions(ctx context.Context, userID string) (int64, error)
	// PruneSessions deletes the sessions expired at now or last seen
	// before idleSince, then, while more than max remain, the least
	// recently seen; returns how many it deleted.
	PruneSessions(ctx context.Context, now, idleSince time.Time, max int) (int64, error)
	// CountSessions returns how many sessions are stored.
	CountSessions(ctx context.Context) (int64, error)
}
