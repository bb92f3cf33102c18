-- 0004_responses: Responses API answers kept for GET /responses/{id} and
-- previous_response_id (store.StoredResponse). Reads and deletes always
-- name the account (account_id, id), so an id never reaches another
-- account. No foreign keys: a row outlives nothing it points at, and
-- expired rows are pruned by expires_at.
--   conversation  the request's side, canonical JSON (the relay's format)
--   output        the answer, canonical JSON
--   response      the encoded Response object, as GET returns it
--   expires_at    unix ns; NULL = kept until deleted
CREATE TABLE responses (
    id           TEXT    PRIMARY KEY,
    account_id   TEXT    NOT NULL,
    key_hash     TEXT    NOT NULL,
    model        TEXT    NOT NULL,
    conversation TEXT    NOT NULL,
    output       TEXT    NOT NULL,
    response     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NULL
);
CREATE INDEX responses_expires_at ON responses (expires_at) WHERE expires_at IS NOT NULL;
