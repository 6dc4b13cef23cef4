//! The SQL side: connecting (SQLite file or PostgreSQL), embedded migrations, and the few
//! queries the store needs. Queries are plain SQL checked at run time; the same text runs on
//! both backends (`$1` placeholders work in SQLite too). The one pool is shared with the
//! cluster state (`crate::cluster`: submissions, node heartbeats).

use futures_util::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Row, SqlitePool};
use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// File name of the embedded SQLite database inside `data_dir`.
pub const SQLITE_FILE: &str = "warmrun.db";

/// The migrations, embedded: (version, description, SQLite SQL, PostgreSQL SQL). Version
/// 1 is portable; later ones have a file per backend (`migrations/{sqlite,postgres}/`).
/// An applied migration must never change: sqlx checks their checksums at start.
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "snippets and run stats",
        include_str!("../../migrations/0001_snippets_and_run_stats.sql"),
        include_str!("../../migrations/0001_snippets_and_run_stats.sql"),
    ),
    (
        2,
        "cluster: submissions and node heartbeats",
        include_str!("../../migrations/sqlite/0002_cluster.sql"),
        include_str!("../../migrations/postgres/0002_cluster.sql"),
    ),
    (
        3,
        "result cache",
        include_str!("../../migrations/0003_result_cache.sql"),
        include_str!("../../migrations/0003_result_cache.sql"),
    ),
];

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Config(String),
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the database is merely unreachable or saturated (worth a retry).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Db(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_))
        )
    }
}

/// A connection pool to one of the two backends, and the database's clock.
#[derive(Clone, Debug)]
pub struct Db {
    pub(crate) backend: Backend,
    /// Database clock minus this machine's clock, in ms (see [`Db::now_ms`]).
    skew_ms: Arc<AtomicI64>,
}

/// The concrete pool.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool of either backend; the body is
/// compiled once per backend, so it may only use what both support.
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match &$db.backend {
            $crate::snippets::db::Backend::Sqlite($pool) => $body,
            $crate::snippets::db::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// A stored snippet row.
pub struct SnippetRow {
    pub language: String,
    pub body: String,
    pub created_at: i64,
}

/// Runs of one (language, verdict) summed over the asked days.
pub struct StatsRow {
    pub language: String,
    pub verdict: String,
    pub runs: i64,
    pub wall_ms: i64,
    pub first_day: i64,
}

/// One key of the run statistics and what to add to it.
pub struct StatsDelta {
    pub utc_day: i64,
    pub language: String,
    pub verdict: String,
    pub runs: i64,
    pub wall_ms: i64,
}

impl Db {
    /// Connects: `url` (postgres://, postgresql:// or sqlite:) when given, else the SQLite
    /// file `data_dir/warmrun.db`, created with its directory on first start. Then runs the
    /// migrations. Returns the pool and a description for logs (no password).
    pub async fn connect(url: Option<&str>, data_dir: &Path) -> Result<(Db, String), StoreError> {
        let (db, what) = match url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                let opts = PgConnectOptions::from_str(u)?;
                let what = format!(
                    "postgres {}:{}/{}",
                    opts.get_host(),
                    opts.get_port(),
                    opts.get_database().unwrap_or("")
                );
                let pool = PgPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(opts)
                    .await?;
                (Backend::Postgres(pool), what)
            }
            Some(u) if u.starts_with("sqlite:") => {
                let opts = SqliteConnectOptions::from_str(u)?;
                let what = format!("sqlite {}", opts.get_filename().display());
                (Backend::Sqlite(sqlite_pool(opts).await?), what)
            }
            Some(u) => {
                let scheme = u.split(':').next().unwrap_or("");
                return Err(StoreError::Config(format!(
                    "database_url must start with postgres://, postgresql:// or sqlite:, not {scheme:?}"
                )));
            }
            None => {
                std::fs::create_dir_all(data_dir).map_err(|e| {
                    StoreError::Config(format!(
                        "creating the data directory {} failed: {e} (set data_dir or WARMRUN_DATA_DIR)",
                        data_dir.display()
                    ))
                })?;
                let file = data_dir.join(SQLITE_FILE);
                let opts = SqliteConnectOptions::new()
                    .filename(&file)
                    .create_if_missing(true);
                (
                    Backend::Sqlite(sqlite_pool(opts).await?),
                    format!("sqlite {}", file.display()),
                )
            }
        };
        let db = Db {
            backend: db,
            skew_ms: Arc::new(AtomicI64::new(0)),
        };
        db.migrate().await?;
        db.sync_clock().await?;
        Ok((db, what))
    }

    /// Whether this is PostgreSQL (several machines may share it) rather than SQLite.
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Applies the embedded migrations not applied yet.
    async fn migrate(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(pool) => Migrator::new(Embedded::Sqlite).await?.run(pool).await?,
            Backend::Postgres(pool) => Migrator::new(Embedded::Postgres).await?.run(pool).await?,
        }
        Ok(())
    }

    /// Now, in ms since the Unix epoch, on the database's clock as last measured: nodes on
    /// several machines compare heartbeat times, so they must share one clock.
    pub fn now_ms(&self) -> i64 {
        super::model::now_ms() + self.skew_ms.load(Ordering::Relaxed)
    }

    /// Measures the database clock against this machine's (PostgreSQL; SQLite is local).
    /// Half the round trip is the error; good enough for heartbeats counted in seconds.
    pub async fn sync_clock(&self) -> Result<(), StoreError> {
        let Backend::Postgres(pool) = &self.backend else {
            return Ok(());
        };
        let before = super::model::now_ms();
        let db_now: i64 = sqlx::query_scalar(
            "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        )
        .fetch_one(pool)
        .await?;
        let after = super::model::now_ms();
        self.skew_ms
            .store(db_now - (before + after) / 2, Ordering::Relaxed);
        Ok(())
    }

    /// Inserts a snippet unless its id is taken; true when inserted.
    pub async fn insert_snippet(
        &self,
        id: &str,
        language: &str,
        body: &str,
        created_at: i64,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO snippets (id, language, body, created_at) \
                           VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING";
        let done = with_pool!(self, pool => sqlx::query(SQL)
            .bind(id)
            .bind(language)
            .bind(body)
            .bind(created_at)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done == 1)
    }

    /// A snippet by id.
    pub async fn snippet(&self, id: &str) -> Result<Option<SnippetRow>, StoreError> {
        const SQL: &str = "SELECT language, body, created_at FROM snippets WHERE id = $1";
        let row = with_pool!(self, pool => match sqlx::query(SQL).bind(id).fetch_optional(pool).await? {
            Some(r) => Some(SnippetRow {
                language: r.try_get("language")?,
                body: r.try_get("body")?,
                created_at: r.try_get("created_at")?,
            }),
            None => None,
        });
        Ok(row)
    }

    /// Adds runs to the statistics, all in one transaction.
    pub async fn add_run_stats(&self, deltas: &[StatsDelta]) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO run_stats (utc_day, language, verdict, runs, wall_ms) \
                           VALUES ($1, $2, $3, $4, $5) \
                           ON CONFLICT (utc_day, language, verdict) DO UPDATE SET \
                           runs = run_stats.runs + excluded.runs, \
                           wall_ms = run_stats.wall_ms + excluded.wall_ms";
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for d in deltas {
                sqlx::query(SQL)
                    .bind(d.utc_day)
                    .bind(&d.language)
                    .bind(&d.verdict)
                    .bind(d.runs)
                    .bind(d.wall_ms)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Runs per (language, verdict) from `from_day` on.
    pub async fn run_stats(&self, from_day: i64) -> Result<Vec<StatsRow>, StoreError> {
        // SUM over BIGINT is NUMERIC in PostgreSQL: cast back so both backends give i64.
        const SQL: &str = "SELECT language, verdict, \
                           CAST(SUM(runs) AS BIGINT) AS runs, \
                           CAST(SUM(wall_ms) AS BIGINT) AS wall_ms, \
                           MIN(utc_day) AS first_day \
                           FROM run_stats WHERE utc_day >= $1 \
                           GROUP BY language, verdict";
        let rows = with_pool!(self, pool => {
            let mut out = Vec::new();
            for r in sqlx::query(SQL).bind(from_day).fetch_all(pool).await? {
                out.push(StatsRow {
                    language: r.try_get("language")?,
                    verdict: r.try_get("verdict")?,
                    runs: r.try_get("runs")?,
                    wall_ms: r.try_get("wall_ms")?,
                    first_day: r.try_get("first_day")?,
                });
            }
            out
        });
        Ok(rows)
    }

    /// Closes every connection (waits for those in use).
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }
}

async fn sqlite_pool(opts: SqliteConnectOptions) -> Result<SqlitePool, StoreError> {
    // WAL lets readers go on while the stats writer or a save writes; a busy writer is
    // waited for rather than failing at once.
    let opts = opts
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5));
    Ok(SqlitePoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(opts)
        .await?)
}

/// The embedded migrations of one backend, as sqlx's migrator wants them.
#[derive(Debug, Clone, Copy)]
enum Embedded {
    Sqlite,
    Postgres,
}

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(MIGRATIONS
                .iter()
                .map(|&(version, description, sqlite, postgres)| {
                    let sql = match self {
                        Embedded::Sqlite => sqlite,
                        Embedded::Postgres => postgres,
                    };
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}
