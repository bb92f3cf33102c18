-- 0012_auth_codes: OAuth PKCE authorization codes (store.AuthCode), shared by
-- every instance. A code is stored only as its SHA-256 and deleted when it is
-- exchanged; expired ones are deleted when a new code is stored.
--   limit_nanos      the new key's credit limit; NULL for none
--   created_at, expires_at  Unix nanoseconds
CREATE TABLE auth_codes (
    hash         TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    challenge    TEXT NOT NULL,
    method       TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    app_id       TEXT NOT NULL,
    limit_nanos  BIGINT,
    granted_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);
