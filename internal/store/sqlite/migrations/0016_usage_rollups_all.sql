-- 0016_usage_rollups_all: nothing to change on SQLite.
--
-- In PostgreSQL this version adds usage_rollups_all, the usage of all
-- accounts together per day, model, provider and app, which the ledger
-- writer keeps beside usage_rollups so that an all-accounts usage report
-- reads one row per day and model instead of one per day, key and model.
-- SQLite serves one gateway process, reads its rollups in process without
-- a round trip, and keeps its schema; the version exists so that both
-- backends number alike.
SELECT 1;
