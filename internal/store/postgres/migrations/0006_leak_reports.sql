-- 0006_leak_reports: where and when a key was reported leaked (GitHub
-- secret scanning), as store.LeakReport JSON; '' when never.
ALTER TABLE api_keys ADD COLUMN leak_report TEXT NOT NULL DEFAULT '';
