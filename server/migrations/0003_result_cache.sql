-- Results of finished runs, answered again to identical requests (server/src/result_cache.rs).
-- `fingerprint` is the run's identity (pool/src/fingerprint.rs), `result` the API's JSON.
CREATE TABLE result_cache (
    fingerprint TEXT PRIMARY KEY,
    language TEXT NOT NULL,
    result TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    used_ms BIGINT NOT NULL,
    hits BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX result_cache_used_ms ON result_cache (used_ms);
