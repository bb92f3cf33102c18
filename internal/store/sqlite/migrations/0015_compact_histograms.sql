-- 0015_compact_histograms: nothing to do in SQLite. PostgreSQL's usage
-- rollups switch to the compact histogram encoding in this version; SQLite's
-- already store histograms as bytes (store.Histogram's MarshalBinary) and
-- merge them with a Go function, and a report over them stays in process.
SELECT 1;
