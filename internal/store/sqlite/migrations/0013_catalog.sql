-- 0013_catalog: providers and models added through the management API
-- (store.CatalogEntry). spec is the entry's settings as JSON without any
-- credential; a provider's API key is only ever stored sealed (AES-GCM,
-- package secretkey) with the id of the secret key that sealed it.
CREATE TABLE catalog_entries (
    kind       TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    spec       TEXT    NOT NULL,
    key_id     TEXT    NOT NULL DEFAULT '',
    key_sealed TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
);
