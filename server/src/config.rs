//! Server settings: a TOML file (`WARMRUN_CONFIG` or `--config`), then environment
//! overrides for the settings operators change most. Every field has a default.

use pool::{EngineConfig, Runtime};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything the server can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The language catalog.
    pub catalog: PathBuf,
    /// Where the built frontend lives (served under /pkg).
    pub site_root: PathBuf,
    /// The execution engine.
    pub engine: EngineConfig,
    /// Limits on what clients send.
    pub limits: ClientLimits,
    /// Request rates.
    pub rate_limit: RateLimitConfig,
    /// How long finished submissions are kept, in seconds.
    pub submission_ttl_s: u64,
    /// Submissions kept at most (queued, running and finished).
    pub max_submissions: usize,
    /// Deprecated alias of `trusted_proxy_hops = 1` (it used to trust the *first* address
    /// of `X-Forwarded-For`, which the client writes itself).
    pub trust_forwarded_for: bool,
    /// How many proxies in front of the server append to `X-Forwarded-For`. 0: the client
    /// is the TCP peer. N: the client is the N-th address from the right of the header
    /// (1 = the one the nearest proxy appended); a shorter or missing header falls back to
    /// the peer address.
    pub trusted_proxy_hops: u32,
    /// This node's name in a cluster: sent as `X-Warmrun-Node`, shown in `/readyz`, written
    /// on the submissions it runs. Empty: the host name (else `node-` and 6 random
    /// characters). Letters, digits, `.`, `_`, `-`; at most 63 characters.
    pub node_id: String,
    /// How other nodes reach this one (listed in `/api/v1/nodes`), if known.
    pub node_url: Option<String>,
    /// How often this node writes its heartbeat row.
    pub heartbeat_ms: u64,
    /// A node whose heartbeat is older than this is dead: the submissions it was running
    /// fail with `node_lost`.
    pub node_dead_after_ms: u64,
    /// Submissions this node runs at once (claimed from the shared queue). Unset: the
    /// engine's `max_containers`.
    pub submission_workers: Option<usize>,
    /// `/readyz` answers 503 while more than this many runs wait for a container.
    pub ready_max_queue: usize,
    /// After SIGTERM/SIGINT: how long the node keeps accepting connections while `/readyz`
    /// already says 503, so that the load balancer's checks take it out of rotation.
    pub drain_delay_ms: u64,
    /// After SIGTERM/SIGINT: how long running runs, sessions with a run in progress and
    /// claimed submissions may take to finish before they are cut and containers removed
    /// (counted from the signal).
    pub shutdown_grace_ms: u64,
    /// Snippets and run statistics in PostgreSQL (`postgres://user:pass@host:5432/db`), or
    /// an explicit SQLite file (`sqlite:///path/file.db?mode=rwc`). Unset: the SQLite file
    /// `{data_dir}/warmrun.db`.
    pub database_url: Option<String>,
    /// Where the server keeps its own data (the embedded SQLite database); created on start.
    pub data_dir: PathBuf,
    /// Largest snippet: code, stdin, title and kept output together, in bytes.
    pub max_snippet_bytes: usize,
    /// Test cases one run (`tests` of `/api/v1/runs` and `/api/v1/submissions`) may carry;
    /// more are refused with `413 too_many_tests`.
    pub max_tests: usize,
    /// Pages of which origins may call the API, load `/pkg` and open WebSockets from the
    /// browser (`https://docs.example.org`), or `*` for any (the default: the API uses no
    /// cookies). A page of the server's own origin is always allowed.
    pub cors_allowed_origins: Vec<String>,
    /// Hosts a Judge0 submission's `callback_url` may name (`hooks.example.com`,
    /// `127.0.0.1`); the server PUTs finished submissions there, so it is an outbound request
    /// a client chooses. Empty (the default): callbacks are refused.
    pub judge0_callback_hosts: Vec<String>,
    /// Submissions one Judge0 batch (`POST /judge0/submissions/batch`) may carry.
    pub judge0_max_batch: usize,
    /// Stored results of finished runs, answered again to identical requests (off unless
    /// languages are listed or clients may ask).
    pub result_cache: ResultCacheConfig,
}

/// The result cache (`[result_cache]`): which runs may be answered from stored results.
/// Only runs that ended `ok`, `runtime_error` or `compile_error` (judged: every case also
/// `accepted` or `wrong_answer`) are stored, never limits or internal errors.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResultCacheConfig {
    /// Languages whose runs use the cache unless a request says `"cache": false`
    /// (`["python", "c"]`, or `["*"]` for all). Empty (the default): none.
    pub languages: Vec<String>,
    /// Whether a request may ask for it with `"cache": true` in any language.
    pub on_request: bool,
    /// A stored result is answered for this long after its run.
    pub ttl_s: u64,
    /// At most this many results are kept; past it the least recently used go (checked
    /// every minute, so the table can briefly hold more).
    pub max_entries: u64,
}

impl Default for ResultCacheConfig {
    fn default() -> Self {
        ResultCacheConfig {
            languages: Vec::new(),
            on_request: false,
            ttl_s: 24 * 3600,
            max_entries: 100_000,
        }
    }
}

impl ResultCacheConfig {
    /// Whether anything can use the cache.
    pub fn enabled(&self) -> bool {
        self.on_request || !self.languages.is_empty()
    }

    /// Whether a run of `language` (its catalog id, and the id it is a version of) uses
    /// the cache, given what the request asked.
    pub fn applies(&self, language: &str, base: Option<&str>, asked: Option<bool>) -> bool {
        let listed = self
            .languages
            .iter()
            .any(|l| l == "*" || l == language || Some(l.as_str()) == base);
        match asked {
            Some(false) => false,
            Some(true) => self.on_request || listed,
            None => listed,
        }
    }
}

/// Sizes and counts a client may send.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientLimits {
    /// Largest HTTP request body.
    pub body_bytes: usize,
    /// Largest WebSocket text frame.
    pub frame_bytes: usize,
    /// Open WebSocket sessions per client address.
    pub sessions_per_ip: usize,
    /// A socket with no run and no message for this long is closed.
    pub idle_timeout_s: u64,
}

/// Token buckets per client address and per API key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests (runs, submissions, socket opens) per second per address; 0 disables.
    pub per_ip_per_s: u32,
    pub per_ip_burst: u32,
    /// API keys (sent as `X-API-Key`) and their own rates; a key replaces the address limit.
    pub keys: BTreeMap<String, KeyQuota>,
}

/// One API key's rate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyQuota {
    pub per_s: u32,
    pub burst: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".parse().expect("static address"),
            catalog: PathBuf::from("images/languages.toml"),
            site_root: PathBuf::from("/var/cache/warmrun-build/site"),
            engine: EngineConfig::default(),
            limits: ClientLimits::default(),
            rate_limit: RateLimitConfig::default(),
            submission_ttl_s: 600,
            max_submissions: 10_000,
            trust_forwarded_for: false,
            trusted_proxy_hops: 0,
            node_id: String::new(),
            node_url: None,
            heartbeat_ms: 2_000,
            node_dead_after_ms: 10_000,
            submission_workers: None,
            ready_max_queue: 8,
            drain_delay_ms: 3_000,
            shutdown_grace_ms: 30_000,
            database_url: None,
            data_dir: PathBuf::from("/var/lib/warmrun"),
            max_snippet_bytes: 1024 * 1024,
            max_tests: warmrun_api::DEFAULT_MAX_TESTS,
            cors_allowed_origins: vec![crate::cors::ANY.to_string()],
            judge0_callback_hosts: Vec::new(),
            judge0_max_batch: crate::api::judge0::model::DEFAULT_MAX_BATCH,
            result_cache: ResultCacheConfig::default(),
        }
    }
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            body_bytes: 2 * 1024 * 1024,
            frame_bytes: 1024 * 1024,
            sessions_per_ip: 16,
            idle_timeout_s: 300,
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            per_ip_per_s: 200,
            per_ip_burst: 400,
            keys: BTreeMap::new(),
        }
    }
}

/// Environment variables that override the file, and what they set.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("WARMRUN_LISTEN", "listen"),
    ("WARMRUN_CATALOG", "catalog"),
    ("WARMRUN_SITE", "site_root"),
    ("WARMRUN_AGENT", "engine.agent_path"),
    ("WARMRUN_RUNTIME", "engine.runtime (runc | runsc)"),
    ("WARMRUN_INSTANCE", "engine.instance"),
    ("WARMRUN_MAX_CONTAINERS", "engine.max_containers"),
    ("WARMRUN_AUTOSIZE", "engine.autosize (true | false)"),
    ("WARMRUN_MAX_USES", "engine.max_uses"),
    ("WARMRUN_FORK_SERVER", "engine.fork_server (1 | 0)"),
    ("WARMRUN_QUEUE_CAPACITY", "engine.queue_capacity"),
    ("WARMRUN_RATE_PER_IP", "rate_limit.per_ip_per_s"),
    ("WARMRUN_RATE_BURST", "rate_limit.per_ip_burst"),
    ("DATABASE_URL", "database_url (postgres://… or sqlite:…)"),
    ("WARMRUN_DATA_DIR", "data_dir"),
    ("WARMRUN_NODE_ID", "node_id (default: the host name)"),
    ("WARMRUN_NODE_URL", "node_url"),
    ("WARMRUN_TRUSTED_PROXY_HOPS", "trusted_proxy_hops"),
    ("WARMRUN_SUBMISSION_WORKERS", "submission_workers"),
    ("WARMRUN_HEARTBEAT_MS", "heartbeat_ms"),
    ("WARMRUN_NODE_DEAD_AFTER_MS", "node_dead_after_ms"),
    ("WARMRUN_READY_MAX_QUEUE", "ready_max_queue"),
    ("WARMRUN_MAX_TESTS", "max_tests"),
    ("WARMRUN_JUDGE0_MAX_BATCH", "judge0_max_batch"),
    (
        "WARMRUN_RESULT_CACHE",
        "result_cache.languages (comma-separated ids, or *)",
    ),
    ("WARMRUN_RESULT_CACHE_ON_REQUEST", "result_cache.on_request"),
    ("WARMRUN_DRAIN_DELAY_MS", "drain_delay_ms"),
    ("WARMRUN_SHUTDOWN_GRACE_MS", "shutdown_grace_ms"),
    (
        "WARMRUN_CORS_ALLOWED_ORIGINS",
        "cors_allowed_origins (comma-separated, or *)",
    ),
    (
        "WARMRUN_JUDGE0_CALLBACK_HOSTS",
        "judge0_callback_hosts (comma-separated)",
    ),
];

impl ServerConfig {
    /// Reads the file (if any) and applies the environment.
    pub fn load(path: Option<&std::path::Path>) -> anyhow::Result<ServerConfig> {
        let mut cfg = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", p.display()))?;
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
            }
            None => ServerConfig::default(),
        };
        cfg.fold_deprecated();
        cfg.apply_env(|k| std::env::var(k).ok())?;
        // A given node id is checked now; an empty one stays empty until `build_state`, which
        // must know whether it was given (the default, the host name, is shared by every
        // engine of the machine and must not name their containers).
        if !cfg.node_id.trim().is_empty() {
            cfg.resolve_node_id()?;
        }
        cfg.normalise_origins()?;
        Ok(cfg)
    }

    /// Checks `cors_allowed_origins` and writes them as browsers send them.
    pub fn normalise_origins(&mut self) -> anyhow::Result<()> {
        self.cors_allowed_origins = self
            .cors_allowed_origins
            .iter()
            .map(|o| crate::cors::normalise_origin(o))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("cors_allowed_origins: {e}"))?;
        Ok(())
    }

    /// Turns deprecated keys into their replacements (before the environment applies, so
    /// that `WARMRUN_TRUSTED_PROXY_HOPS` wins over the file).
    fn fold_deprecated(&mut self) {
        if self.trust_forwarded_for {
            tracing::warn!(
                "trust_forwarded_for is deprecated: it now means trusted_proxy_hops = 1 \
                 (the address the nearest proxy appended)"
            );
            self.trust_forwarded_for = false;
            self.trusted_proxy_hops = self.trusted_proxy_hops.max(1);
        }
    }

    /// Proxies trusted to append to `X-Forwarded-For` (honours the deprecated
    /// `trust_forwarded_for` for configurations built in code).
    pub fn proxy_hops(&self) -> u32 {
        if self.trust_forwarded_for {
            self.trusted_proxy_hops.max(1)
        } else {
            self.trusted_proxy_hops
        }
    }

    /// Submissions run at once on this node.
    pub fn submission_workers(&self) -> usize {
        self.submission_workers
            .unwrap_or(self.engine.max_containers)
            .max(1)
    }

    /// Fills in the default node id when none is set, and checks the one given.
    pub fn resolve_node_id(&mut self) -> anyhow::Result<()> {
        if self.node_id.trim().is_empty() {
            self.node_id = default_node_id();
        }
        let id = self.node_id.trim();
        let valid = !id.is_empty()
            && id.len() <= 63
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !valid {
            anyhow::bail!(
                "node_id {:?} must be 1 to 63 letters, digits, '.', '_' or '-'",
                self.node_id
            );
        }
        self.node_id = id.to_string();
        Ok(())
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        fn num<T: std::str::FromStr>(k: &str, v: &str) -> anyhow::Result<T> {
            v.parse()
                .map_err(|_| anyhow::anyhow!("{k}={v:?} is not a valid number"))
        }
        for (key, _) in ENV_OVERRIDES {
            let Some(v) = get(key) else { continue };
            match *key {
                "WARMRUN_LISTEN" => {
                    self.listen = v
                        .parse()
                        .map_err(|_| anyhow::anyhow!("WARMRUN_LISTEN={v:?} is not host:port"))?
                }
                "WARMRUN_CATALOG" => self.catalog = v.into(),
                "WARMRUN_SITE" => self.site_root = v.into(),
                "WARMRUN_AGENT" => self.engine.agent_path = v.into(),
                "WARMRUN_RUNTIME" => {
                    self.engine.runtime = match v.as_str() {
                        "runc" => Runtime::Runc,
                        "runsc" => Runtime::Runsc,
                        _ => anyhow::bail!("WARMRUN_RUNTIME must be runc or runsc, not {v:?}"),
                    }
                }
                "WARMRUN_INSTANCE" => self.engine.instance = v,
                "WARMRUN_MAX_CONTAINERS" => self.engine.max_containers = num(key, &v)?,
                "WARMRUN_AUTOSIZE" => self.engine.autosize = num(key, &v)?,
                "WARMRUN_MAX_USES" => self.engine.max_uses = num(key, &v)?,
                "WARMRUN_FORK_SERVER" => {
                    self.engine.fork_server = match v.as_str() {
                        "1" | "true" => true,
                        "0" | "false" => false,
                        _ => anyhow::bail!("WARMRUN_FORK_SERVER must be 1 or 0, not {v:?}"),
                    }
                }
                "WARMRUN_QUEUE_CAPACITY" => self.engine.queue_capacity = num(key, &v)?,
                "WARMRUN_RATE_PER_IP" => self.rate_limit.per_ip_per_s = num(key, &v)?,
                "WARMRUN_RATE_BURST" => self.rate_limit.per_ip_burst = num(key, &v)?,
                "DATABASE_URL" => self.database_url = Some(v).filter(|v| !v.is_empty()),
                "WARMRUN_DATA_DIR" => self.data_dir = v.into(),
                "WARMRUN_NODE_ID" => self.node_id = v,
                "WARMRUN_NODE_URL" => self.node_url = Some(v).filter(|v| !v.is_empty()),
                "WARMRUN_TRUSTED_PROXY_HOPS" => self.trusted_proxy_hops = num(key, &v)?,
                "WARMRUN_SUBMISSION_WORKERS" => self.submission_workers = Some(num(key, &v)?),
                "WARMRUN_HEARTBEAT_MS" => self.heartbeat_ms = num(key, &v)?,
                "WARMRUN_NODE_DEAD_AFTER_MS" => self.node_dead_after_ms = num(key, &v)?,
                "WARMRUN_READY_MAX_QUEUE" => self.ready_max_queue = num(key, &v)?,
                "WARMRUN_MAX_TESTS" => self.max_tests = num(key, &v)?,
                "WARMRUN_JUDGE0_MAX_BATCH" => self.judge0_max_batch = num(key, &v)?,
                "WARMRUN_DRAIN_DELAY_MS" => self.drain_delay_ms = num(key, &v)?,
                "WARMRUN_SHUTDOWN_GRACE_MS" => self.shutdown_grace_ms = num(key, &v)?,
                "WARMRUN_CORS_ALLOWED_ORIGINS" => {
                    self.cors_allowed_origins = v
                        .split(',')
                        .map(str::trim)
                        .filter(|o| !o.is_empty())
                        .map(str::to_string)
                        .collect()
                }
                "WARMRUN_RESULT_CACHE" => {
                    self.result_cache.languages = v
                        .split(',')
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_string)
                        .collect()
                }
                "WARMRUN_RESULT_CACHE_ON_REQUEST" => {
                    self.result_cache.on_request = match v.as_str() {
                        "1" | "true" => true,
                        "0" | "false" | "" => false,
                        _ => anyhow::bail!("{key} must be true or false, not {v:?}"),
                    }
                }
                "WARMRUN_JUDGE0_CALLBACK_HOSTS" => {
                    self.judge0_callback_hosts = v
                        .split(',')
                        .map(str::trim)
                        .filter(|h| !h.is_empty())
                        .map(str::to_string)
                        .collect()
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The host name (`/etc/hostname`, else the kernel's, as `gethostname` gives it), made a valid
/// node id; else
/// `node-` and 6 random characters.
pub fn default_node_id() -> String {
    let from_file = std::fs::read_to_string("/etc/hostname").ok();
    let from_kernel = || std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    let host = from_file
        .filter(|h| !h.trim().is_empty())
        .or_else(from_kernel)
        .unwrap_or_default();
    let cleaned: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(63)
        .collect();
    if cleaned.is_empty() {
        use rand::Rng;
        let suffix: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(6)
            .map(|b| (b as char).to_ascii_lowercase())
            .collect();
        format!("node-{suffix}")
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_the_file() {
        let mut cfg: ServerConfig = toml::from_str("listen = \"0.0.0.0:9000\"").unwrap();
        cfg.apply_env(|k| (k == "WARMRUN_RUNTIME").then(|| "runsc".to_string()))
            .unwrap();
        assert_eq!(cfg.listen.port(), 9000);
        assert_eq!(cfg.engine.runtime, Runtime::Runsc);
        assert!(cfg
            .apply_env(|k| (k == "WARMRUN_MAX_USES").then(|| "x".to_string()))
            .is_err());
    }

    #[test]
    fn database_settings_come_from_the_environment() {
        let mut cfg: ServerConfig = toml::from_str("data_dir = \"/srv/w\"").unwrap();
        assert_eq!(cfg.database_url, None);
        assert_eq!(cfg.data_dir, PathBuf::from("/srv/w"));
        cfg.apply_env(|k| match k {
            "DATABASE_URL" => Some("postgres://u@db/warmrun".to_string()),
            "WARMRUN_DATA_DIR" => Some("/data".to_string()),
            _ => None,
        })
        .unwrap();
        assert_eq!(cfg.database_url.as_deref(), Some("postgres://u@db/warmrun"));
        assert_eq!(cfg.data_dir, PathBuf::from("/data"));
    }

    #[test]
    fn cluster_settings_come_from_the_environment() {
        let mut cfg = ServerConfig::default();
        cfg.apply_env(|k| {
            Some(
                match k {
                    "WARMRUN_NODE_ID" => "edge-2",
                    "WARMRUN_TRUSTED_PROXY_HOPS" => "2",
                    "WARMRUN_SUBMISSION_WORKERS" => "3",
                    "WARMRUN_READY_MAX_QUEUE" => "5",
                    "WARMRUN_DRAIN_DELAY_MS" => "100",
                    "WARMRUN_SHUTDOWN_GRACE_MS" => "2000",
                    "WARMRUN_MAX_TESTS" => "7",
                    _ => return None,
                }
                .to_string(),
            )
        })
        .unwrap();
        cfg.resolve_node_id().unwrap();
        assert_eq!(cfg.node_id, "edge-2");
        assert_eq!(cfg.proxy_hops(), 2);
        assert_eq!(cfg.submission_workers(), 3);
        assert_eq!(cfg.ready_max_queue, 5);
        assert_eq!((cfg.drain_delay_ms, cfg.shutdown_grace_ms), (100, 2000));
        assert_eq!(cfg.max_tests, 7);
    }

    #[test]
    fn node_ids_default_to_the_host_name_and_are_checked() {
        let mut cfg = ServerConfig::default();
        cfg.resolve_node_id().unwrap();
        assert!(!cfg.node_id.is_empty());
        assert_eq!(cfg.node_id, default_node_id());
        cfg.node_id = "bad id\r\n".into();
        assert!(cfg.resolve_node_id().is_err());
        cfg.node_id = "x".repeat(64);
        assert!(cfg.resolve_node_id().is_err());
    }

    #[test]
    fn trust_forwarded_for_is_an_alias_of_one_hop() {
        let mut cfg: ServerConfig = toml::from_str("trust_forwarded_for = true").unwrap();
        assert_eq!(cfg.proxy_hops(), 1);
        cfg.fold_deprecated();
        assert!(!cfg.trust_forwarded_for);
        assert_eq!(cfg.trusted_proxy_hops, 1);
        // The environment still has the last word.
        cfg.apply_env(|k| (k == "WARMRUN_TRUSTED_PROXY_HOPS").then(|| "0".to_string()))
            .unwrap();
        assert_eq!(cfg.proxy_hops(), 0);
        let two: ServerConfig =
            toml::from_str("trust_forwarded_for = true\ntrusted_proxy_hops = 2").unwrap();
        assert_eq!(two.proxy_hops(), 2);
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<ServerConfig>("lisen = \"x\"").is_err());
    }
}
