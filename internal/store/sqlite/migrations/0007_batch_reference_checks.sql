-- 0007_batch_reference_checks: nothing to change on SQLite.
--
-- In PostgreSQL this version drops the per-row foreign keys of generations
-- and ledger_entries (WriteBatch checks a batch's keys and accounts once)
-- and the unused index generations_account_created. SQLite checks a
-- foreign key with an in-process index lookup, cheap next to a PostgreSQL
-- trigger's query, and dropping one means rebuilding the table; it keeps
-- its schema. The version exists so that both backends number alike.
SELECT 1;
