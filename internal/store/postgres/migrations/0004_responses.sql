-- 0004_responses: Responses API answers (store.StoredResponse); see
-- store/sqlite's 0004_responses.sql.
CREATE TABLE responses (
    id           TEXT    PRIMARY KEY,
    account_id   TEXT    NOT NULL,
    key_hash     TEXT    NOT NULL,
    model        TEXT    NOT NULL,
    conversation TEXT    NOT NULL,
    output       TEXT    NOT NULL,
    response     TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NULL
);
CREATE INDEX responses_expires_at ON responses (expires_at) WHERE expires_at IS NOT NULL;
