-- 0002_billing: what store.Billing needs beyond 0001 (see store/sqlite's
-- 0002_billing.sql for how credits, spent and ledger amounts relate).

ALTER TABLE api_keys ADD COLUMN total_usage_nanos BIGINT NOT NULL DEFAULT 0;
UPDATE api_keys SET total_usage_nanos = coalesce(
    (SELECT -sum(amount_nanos) FROM ledger_entries
     WHERE ledger_entries.key_hash = api_keys.hash AND kind = 'charge'), 0);

ALTER TABLE generations ADD COLUMN request_id TEXT NOT NULL DEFAULT '';

-- A generation is charged at most once (a batch written again is a no-op).
CREATE UNIQUE INDEX ledger_entries_charge_once ON ledger_entries (generation_id)
    WHERE kind = 'charge';

-- Usage reports of one account read its rollups without scanning the others'.
CREATE INDEX usage_rollups_account_day ON usage_rollups (account_id, day);
