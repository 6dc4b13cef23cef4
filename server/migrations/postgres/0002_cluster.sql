-- Several engine nodes sharing one database (PostgreSQL). The SQLite twin of this file,
-- migrations/sqlite/0002_cluster.sql, has the same tables and meaning. All times are
-- milliseconds since the Unix epoch on the database's clock (nodes correct their own by
-- the offset they measure at each heartbeat).

-- Asynchronous submissions: POST inserts a queued row; a node with free capacity claims
-- it (FOR UPDATE SKIP LOCKED), runs it and stores the result; any node answers GETs.
CREATE TABLE submissions (
    -- A v4 UUID, as text.
    id TEXT PRIMARY KEY,
    -- queued | running | finished | failed
    status TEXT NOT NULL,
    -- The request as the client sent it (JSON of POST /api/v1/submissions).
    request TEXT NOT NULL,
    -- JSON of the finished run (status finished).
    result TEXT,
    -- JSON {code, message} (status failed).
    error TEXT,
    -- The node that claimed it, and that node's boot (a restart of the node is another boot).
    node_id TEXT,
    boot_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- When a finished or failed row is deleted; NULL while queued or running.
    expires_at BIGINT
);
-- The claim takes the oldest queued row; the lost-node sweep reads the running ones.
CREATE INDEX submissions_by_status ON submissions (status, created_at);
CREATE INDEX submissions_by_expiry ON submissions (expires_at);

-- One row per node id, upserted by the node at every heartbeat.
CREATE TABLE nodes (
    node_id TEXT PRIMARY KEY,
    -- Random per process start: containers and claims of an earlier boot are not this one's.
    boot_id TEXT NOT NULL,
    -- How other nodes reach it, when configured.
    url TEXT,
    started_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    -- The node's own promise: it is dead when last_seen is older than this.
    dead_after_ms BIGINT NOT NULL,
    ready BOOLEAN NOT NULL,
    draining BOOLEAN NOT NULL,
    -- Set by a clean shutdown: dead at once, without waiting for dead_after_ms.
    stopped_at BIGINT
);
