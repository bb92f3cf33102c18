-- ledger_entries_generation indexed every entry's generation_id, but no
-- query reads by it: the only lookup is the charge-once conflict check,
-- which uses the unique index ledger_entries_charge_once (0002). Dropping
-- it saves one B-tree insert per charged request in the ledger writer.
DROP INDEX IF EXISTS ledger_entries_generation;
