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
    /// Trust the first address of `X-Forwarded-For` as the client (behind a proxy).
    pub trust_forwarded_for: bool,
    /// How long shutdown waits for running sessions before removing containers.
    pub shutdown_grace_ms: u64,
    /// Snippets and run statistics in PostgreSQL (`postgres://user:pass@host:5432/db`), or
    /// an explicit SQLite file (`sqlite:///path/file.db?mode=rwc`). Unset: the SQLite file
    /// `{data_dir}/warmrun.db`.
    pub database_url: Option<String>,
    /// Where the server keeps its own data (the embedded SQLite database); created on start.
    pub data_dir: PathBuf,
    /// Largest snippet: code, stdin, title and kept output together, in bytes.
    pub max_snippet_bytes: usize,
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
            shutdown_grace_ms: 5_000,
            database_url: None,
            data_dir: PathBuf::from("/var/lib/warmrun"),
            max_snippet_bytes: 1024 * 1024,
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
    ("WARMRUN_MAX_USES", "engine.max_uses"),
    ("WARMRUN_QUEUE_CAPACITY", "engine.queue_capacity"),
    ("WARMRUN_RATE_PER_IP", "rate_limit.per_ip_per_s"),
    ("WARMRUN_RATE_BURST", "rate_limit.per_ip_burst"),
    ("DATABASE_URL", "database_url (postgres://… or sqlite:…)"),
    ("WARMRUN_DATA_DIR", "data_dir"),
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
        cfg.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
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
                "WARMRUN_MAX_USES" => self.engine.max_uses = num(key, &v)?,
                "WARMRUN_QUEUE_CAPACITY" => self.engine.queue_capacity = num(key, &v)?,
                "WARMRUN_RATE_PER_IP" => self.rate_limit.per_ip_per_s = num(key, &v)?,
                "WARMRUN_RATE_BURST" => self.rate_limit.per_ip_burst = num(key, &v)?,
                "DATABASE_URL" => self.database_url = Some(v).filter(|v| !v.is_empty()),
                "WARMRUN_DATA_DIR" => self.data_dir = v.into(),
                _ => {}
            }
        }
        Ok(())
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
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<ServerConfig>("lisen = \"x\"").is_err());
    }
}
