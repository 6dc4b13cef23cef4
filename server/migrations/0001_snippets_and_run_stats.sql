-- Snippets and run statistics. Portable SQL: the same file runs on SQLite and PostgreSQL
-- (server/src/snippets/db.rs embeds it). A later change that needs dialect-specific SQL
-- gets one file per backend under migrations/sqlite/ and migrations/postgres/ with the
-- same version number.

-- A saved snippet; never updated (saving an edited snippet makes a new row).
CREATE TABLE snippets (
    -- 12 random base62 characters (about 71 bits).
    id TEXT PRIMARY KEY,
    -- Catalog id of the language (aliases are resolved before saving).
    language TEXT NOT NULL,
    -- JSON: {code | files, stdin, title, output}. JSON rather than columns because
    -- PostgreSQL text cannot hold NUL characters and JSON escapes them.
    body TEXT NOT NULL,
    -- Milliseconds since the Unix epoch (UTC).
    created_at BIGINT NOT NULL
);

-- Finished runs counted per UTC day, language and verdict. A batch writer adds to these
-- rows (one upsert per key and batch), so the table stays small however many runs there are.
CREATE TABLE run_stats (
    -- Days since the Unix epoch (UTC).
    utc_day BIGINT NOT NULL,
    language TEXT NOT NULL,
    verdict TEXT NOT NULL,
    runs BIGINT NOT NULL,
    -- Sum of the programs' wall times, for averages.
    wall_ms BIGINT NOT NULL,
    PRIMARY KEY (utc_day, language, verdict)
);
