-- 0017_generations_by_model: GET /api/v1/generations?model=… (the console's
-- Generations page filtered by model) without a key or an account read
-- everyone's rows newest first through generations_created and filtered
-- them: a scan of the whole table when the model is rare or absent. With
-- this index the listing reads the model's rows in time order, 50 entries
-- for a page whatever the table's size. One more B-tree insert per recorded
-- generation (docs/benchmarks.md, "Listing generations").
CREATE INDEX IF NOT EXISTS generations_model_created ON generations (model_requested, created_at);
