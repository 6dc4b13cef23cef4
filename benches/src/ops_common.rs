//! Shared by the operator benchmarks (ws_roundtrip, ws_memory, container_memory): start a
//! release `warmrun-server` of our own (own port, instance and config), tiny HTTP GETs,
//! WebSocket helpers and percentiles. Included with `#[path]` by each binary.

#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The repository root (the server reads images/languages.toml relative to it).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("WARMRUN_SERVER_BIN") {
        return p.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/warmrun-build/target"));
    target.join("release").join("warmrun-server")
}

/// Raises this process's open-file limit (inherited by the server we start): the
/// equivalent of `ulimit -n`.
pub fn raise_nofile(want: u64) -> u64 {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        let new = want.min(r.rlim_max).max(r.rlim_cur);
        r.rlim_cur = new;
        libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        r.rlim_cur
    }
}

/// A warmrun-server child; SIGTERM (graceful: it removes its containers) on drop.
pub struct Server {
    child: Child,
    pub port: u16,
    pub url: String,
    pub instance: String,
    config: PathBuf,
}

impl Server {
    /// Starts the release server with `extra_toml` appended to its config and waits for
    /// /readyz. `catalog` defaults to images/languages.toml.
    pub fn start(name: &str, extra_toml: &str, catalog: Option<&str>) -> Server {
        Server::start_within(name, extra_toml, catalog, Duration::from_secs(120))
    }

    /// As `start`, waiting up to `ready_within` for /readyz (which waits for the pools'
    /// floors: long when a benchmark sets them high).
    pub fn start_within(
        name: &str,
        extra_toml: &str,
        catalog: Option<&str>,
        ready_within: Duration,
    ) -> Server {
        let bin = server_bin();
        assert!(
            bin.exists(),
            "{} is missing: cargo build --release -p server",
            bin.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let instance = format!("{name}{}", std::process::id());
        let config = std::env::temp_dir().join(format!("warmrun-{instance}.toml"));
        let catalog = catalog.unwrap_or("images/languages.toml");
        std::fs::write(
            &config,
            format!("listen = \"127.0.0.1:{port}\"\ncatalog = \"{catalog}\"\n{extra_toml}\n"),
        )
        .expect("write config");
        let log = std::fs::File::create(std::env::temp_dir().join(format!("{instance}.log")))
            .expect("log file");
        let child = Command::new(&bin)
            .current_dir(repo_root())
            .env("WARMRUN_CONFIG", &config)
            .env("WARMRUN_INSTANCE", &instance)
            .env_remove("WARMRUN_LISTEN")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn warmrun-server");
        let server = Server {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
            instance,
            config,
        };
        let started = Instant::now();
        while get(port, "/readyz").map(|(s, _)| s) != Some(200) {
            assert!(
                started.elapsed() < ready_within,
                "server not ready after {} s (log: {}/{}.log)",
                ready_within.as_secs(),
                std::env::temp_dir().display(),
                server.instance
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!(
            "[bench] warmrun-server pid {} ready on {} ({:.1} s)",
            server.pid(),
            server.url,
            started.elapsed().as_secs_f64()
        );
        server
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/api/v1/ws", self.port)
    }

    /// VmRSS of the server process, KiB.
    pub fn rss_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmRSS")
    }

    /// A gauge or counter from /metrics (first sample whose line starts with `prefix`).
    pub fn metric(&self, prefix: &str) -> Option<f64> {
        let (_, body) = get(self.port, "/metrics")?;
        body.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    /// Ids of this server's containers of `language`.
    pub fn containers(&self, language: &str) -> Vec<String> {
        let out = Command::new("docker")
            .args(["ps", "-q", "--no-trunc", "--filter"])
            .arg(format!("label=io.warmrun.instance={}", self.instance))
            .arg("--filter")
            .arg(format!("label=io.warmrun.language={language}"))
            .output()
            .expect("docker ps");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(String::from)
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_within(Duration::from_secs(20));
    }
}

impl Server {
    /// SIGTERM, then SIGKILL if it has not ended within `within` (its containers are then
    /// left to the next engine's janitor): a server with a thousand containers needs minutes.
    pub fn stop_within(&mut self, within: Duration) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return; // stopped already (its pid may be someone else's by now)
        }
        // SAFETY: signalling our own child, not yet reaped.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config);
    }
}

/// `Field:   N kB` from /proc/<pid>/status, in KiB.
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    kib_field(&format!("/proc/{pid}/status"), field)
}

/// `Field:   N kB` from a /proc file of that layout (status, /proc/meminfo), in KiB; 0 when
/// absent.
pub fn kib_field(path: &str, field: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(&format!("{field}:")))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Busy CPU seconds of the whole machine so far (/proc/stat: all but idle and iowait).
pub fn machine_busy_s() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let text = std::fs::read_to_string("/proc/stat").unwrap();
    let f: Vec<f64> = text
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    (f.iter().take(8).sum::<f64>() - f[3] - f[4]) / tick
}

/// A blocking HTTP/1.1 GET on 127.0.0.1: (status, body).
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Some((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A blocking HTTP/1.1 POST of JSON on 127.0.0.1: (status, body). One connection per call.
pub fn post_json(port: u16, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_nodelay(true).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, text.split_once("\r\n\r\n")?.1.to_string()))
}

pub async fn ws_connect(url: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("WebSocket connect");
    ws
}

pub async fn ws_send(ws: &mut Ws, frame: serde_json::Value) {
    ws.send(Message::text(frame.to_string()))
        .await
        .expect("send frame");
}

/// The next JSON text frame (pings are answered by tungstenite).
pub async fn ws_next(ws: &mut Ws) -> serde_json::Value {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                return serde_json::from_str(t.as_str()).expect("JSON frame")
            }
            Some(Ok(Message::Close(c))) => panic!("socket closed: {c:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("socket error: {e}"),
            None => panic!("socket ended"),
        }
    }
}

/// Frames until (and including) the `exit` frame; panics on an `error` frame.
pub async fn ws_until_exit(ws: &mut Ws) -> serde_json::Value {
    loop {
        let f = ws_next(ws).await;
        match f["type"].as_str() {
            Some("exit") => return f,
            Some("error") => panic!("error frame: {f}"),
            _ => {}
        }
    }
}

/// Milliseconds of a duration.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Sorted-sample percentile (nearest rank), `p` in 0..=100.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// p50/p90/p99/mean of `samples` (ms), sorting them.
pub struct Stats {
    pub n: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub mean: f64,
}

pub fn stats(samples: &mut [f64]) -> Stats {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Stats {
        n: samples.len(),
        p50: pct(samples, 50.0),
        p90: pct(samples, 90.0),
        p99: pct(samples, 99.0),
        mean: samples.iter().sum::<f64>() / samples.len().max(1) as f64,
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:7.2} ms  p90 {:7.2} ms  p99 {:7.2} ms  mean {:7.2} ms  (n={})",
            self.p50, self.p90, self.p99, self.mean, self.n
        )
    }
}
