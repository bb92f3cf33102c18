-- 0007_batch_reference_checks: the ledger writer's tables stop checking
-- their references row by row.
--
-- A foreign key checks each inserted row with a query of its own (two per
-- generation, two per charge entry): about half of WriteBatch's time in
-- PostgreSQL. WriteBatch now checks the batch's distinct keys and accounts
-- once, in its transaction, locking them FOR KEY SHARE as the foreign keys
-- did, and fails the whole batch when one is unknown (docs/benchmarks.md,
-- "Ledger writes"). Keys and accounts are never deleted (a key is
-- soft-deleted), so the referenced rows stay. api_keys.account_id keeps its
-- foreign key: it is not on the ledger's path.
ALTER TABLE generations DROP CONSTRAINT IF EXISTS generations_key_hash_fkey;
ALTER TABLE generations DROP CONSTRAINT IF EXISTS generations_account_id_fkey;
ALTER TABLE ledger_entries DROP CONSTRAINT IF EXISTS ledger_entries_key_hash_fkey;
ALTER TABLE ledger_entries DROP CONSTRAINT IF EXISTS ledger_entries_account_id_fkey;

-- No query reads generations by account (usage reports read usage_rollups;
-- a generation is read by id): one B-tree insert less per request.
DROP INDEX IF EXISTS generations_account_created;
