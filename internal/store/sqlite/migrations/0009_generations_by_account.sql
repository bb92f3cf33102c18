-- 0009_generations_by_account: GET /api/v1/generations lists an account's
-- generations newest first. SQLite kept generations_account_created (0001;
-- 0007 dropped it in PostgreSQL only), so there is nothing to add; the
-- statement only makes a database that lost it whole again.
CREATE INDEX IF NOT EXISTS generations_account_created ON generations (account_id, created_at);
