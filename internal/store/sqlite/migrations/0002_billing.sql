-- 0002_billing: what store.Billing needs beyond 0001.
--
-- Money, as the code of 0002 reads it (0001's comment on credits_nanos says
-- "the balance left"; that is not how it is used):
--   * accounts.credits_nanos is every credit the account was given (top-ups
--     and adjustments); spent_nanos every charge settled. The balance is
--     credits_nanos - spent_nanos; NULL credits_nanos is still unmetered.
--   * ledger_entries.amount_nanos is signed from the account's side: a
--     'topup' is > 0, a 'charge' is < 0 (minus the cost), an 'adjust' is the
--     change of credits_nanos. So for every account
--     sum(amount_nanos) = coalesce(credits_nanos, 0) - spent_nanos.

-- total_usage_nanos is a key's spend of all time; usage_nanos stays the spend
-- of the current limit period (all time when the key has no limit_reset).
ALTER TABLE api_keys ADD COLUMN total_usage_nanos INTEGER NOT NULL DEFAULT 0;
UPDATE api_keys SET total_usage_nanos = coalesce(
    (SELECT -sum(amount_nanos) FROM ledger_entries
     WHERE ledger_entries.key_hash = api_keys.hash AND kind = 'charge'), 0);

-- request_id is the upstream or client request id, for support lookups.
ALTER TABLE generations ADD COLUMN request_id TEXT NOT NULL DEFAULT '';

-- A generation is charged at most once: the ledger writer may write a batch
-- again after a crash, and the second charge must be a no-op.
CREATE UNIQUE INDEX ledger_entries_charge_once ON ledger_entries (generation_id)
    WHERE kind = 'charge';

-- Usage reports of one account read its rollups without scanning the others'.
CREATE INDEX usage_rollups_account_day ON usage_rollups (account_id, day);
