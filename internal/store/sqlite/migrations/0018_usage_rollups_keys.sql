-- 0018_usage_rollups_keys: nothing to change on SQLite.
--
-- In PostgreSQL this version adds usage_rollups_keys (usage per day,
-- account and key), which the ledger writer keeps beside usage_rollups so
-- that a report by day split by key reads one row per output row. SQLite
-- keeps its one rollup table (see 0016); the version exists so that both
-- backends number alike.
SELECT 1;
