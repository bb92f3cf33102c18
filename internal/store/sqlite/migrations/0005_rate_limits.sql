-- 0005_rate_limits: per-key and per-account rate limits (store.RateLimits).
-- 0 in a column is no limit on that dimension.
--   rate_rpm          requests per minute
--   rate_tpm          tokens per minute (prompt + completion)
--   rate_concurrency  requests in flight
ALTER TABLE api_keys ADD COLUMN rate_rpm INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN rate_tpm INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN rate_concurrency INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN rate_rpm INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN rate_tpm INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN rate_concurrency INTEGER NOT NULL DEFAULT 0;
