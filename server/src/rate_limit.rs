//! Request rates per client address and per API key, with `governor` token buckets.

use crate::config::RateLimitConfig;
use crate::error::ApiError;
use axum::http::{HeaderMap, StatusCode};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;

/// Who a request counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Client {
    Ip(IpAddr),
    Key(String),
}

/// The server's rate limiters.
pub struct Limiters {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_key: HashMap<String, DefaultKeyedRateLimiter<()>>,
    clock: DefaultClock,
}

fn quota(per_s: u32, burst: u32) -> Option<Quota> {
    let per_s = NonZeroU32::new(per_s)?;
    Some(Quota::per_second(per_s).allow_burst(NonZeroU32::new(burst).unwrap_or(per_s)))
}

impl Limiters {
    /// Limiters for the configured rates.
    pub fn new(cfg: &RateLimitConfig) -> Limiters {
        Limiters {
            per_ip: quota(cfg.per_ip_per_s, cfg.per_ip_burst).map(RateLimiter::keyed),
            per_key: cfg
                .keys
                .iter()
                .filter_map(|(k, q)| {
                    Some((k.clone(), RateLimiter::keyed(quota(q.per_s, q.burst)?)))
                })
                .collect(),
            clock: DefaultClock::default(),
        }
    }

    /// Identifies the client: a known `X-API-Key`, else the address; an unknown key is an
    /// error rather than a silent fallback. Judge0 clients send their key as
    /// `X-Auth-Token`: it counts as `X-API-Key` when keys are configured (a Judge0 without
    /// an auth token ignores the header, and so does a server without keys).
    pub fn client(&self, headers: &HeaderMap, ip: IpAddr) -> Result<Client, ApiError> {
        let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or(""));
        let (header, key) = match (text("x-api-key"), text("x-auth-token")) {
            (Some(k), _) => ("X-API-Key", Some(k)),
            (None, Some(k)) if !self.per_key.is_empty() => ("X-Auth-Token", Some(k)),
            _ => ("", None),
        };
        match key {
            None => Ok(Client::Ip(ip)),
            Some(k) if self.per_key.contains_key(k) => Ok(Client::Key(k.to_string())),
            Some(_) => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unknown_api_key",
                format!("the {header} header names no configured key"),
            )),
        }
    }

    /// Takes one token for the client, or says how long to wait.
    pub fn check(&self, client: &Client) -> Result<(), ApiError> {
        let verdict = match client {
            Client::Ip(ip) => match &self.per_ip {
                Some(l) => l.check_key(ip),
                None => Ok(()),
            },
            Client::Key(k) => match self.per_key.get(k) {
                Some(l) => l.check_key(&()),
                None => Ok(()),
            },
        };
        verdict.map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            ApiError::rate_limited(wait.as_secs_f64().ceil() as u64)
        })
    }

    /// Forgets idle clients so the per-address table stays small.
    pub fn prune(&self) {
        if let Some(l) = &self.per_ip {
            l.retain_recent();
        }
    }
}

impl Client {
    /// The metrics label of the limit that applies.
    pub fn scope(&self) -> &'static str {
        match self {
            Client::Ip(_) => "ip",
            Client::Key(_) => "key",
        }
    }
}
