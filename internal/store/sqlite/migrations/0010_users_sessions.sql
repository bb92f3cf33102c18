-- 0010_users_sessions: console users (store.User) and console sessions
-- (store.Session).
--   users.email          unique, stored lower case (store.NormalEmail)
--   users.password_hash  argon2id, encoded by package password
--   users.role           owner | member
--   console_sessions.id_hash   SHA-256 (hex) of the session id the cookie holds
--   console_sessions.user_id   the user signed in, or '' for a key session
--   console_sessions.key_hash  the key signed in with, or '' for a user session
-- Times are unix ns. A session row has no foreign key to api_keys: the
-- admin key of the config file is in no table; a deleted or disabled key
-- ends its sessions at their next request.
CREATE TABLE users (
    id            TEXT    PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    account_id    TEXT    NOT NULL REFERENCES accounts (id),
    role          TEXT    NOT NULL CHECK (role IN ('owner', 'member')),
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX users_account ON users (account_id);
CREATE TABLE console_sessions (
    id_hash    TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL DEFAULT '',
    key_hash   TEXT    NOT NULL DEFAULT '',
    csrf       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    seen_at    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id) WHERE user_id <> '';
CREATE INDEX console_sessions_seen ON console_sessions (seen_at);
