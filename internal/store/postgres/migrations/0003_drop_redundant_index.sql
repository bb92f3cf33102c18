-- No query reads ledger_entries by generation_id except the charge-once
-- conflict check, which uses ledger_entries_charge_once (0002).
DROP INDEX IF EXISTS ledger_entries_generation;
