//! Starts real servers (real engine, real Docker) on loopback ports for the API tests.

#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use server::config::ServerConfig;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The runtime every test body runs on, so servers outlive single tests.
pub fn rt() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// A running server.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: server::state::SharedState,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// `WARMRUN_TEST_IMAGES="warmrun/python:current=mine/python:current,…"` runs the tests on
/// other builds of some images (a branch's recipe built under its own `WARMRUN_PREFIX`, so
/// as not to move the `:current` tags other work tests against).
pub fn override_images(catalog: &mut pool::Catalog) {
    let Ok(spec) = std::env::var("WARMRUN_TEST_IMAGES") else {
        return;
    };
    for pair in spec.split(',').filter(|p| !p.is_empty()) {
        let (from, to) = pair
            .split_once('=')
            .expect("WARMRUN_TEST_IMAGES: from=to,…");
        for l in catalog.languages.iter_mut().filter(|l| l.image == from) {
            l.image = to.to_string();
        }
    }
}

/// Settings for a test server: the repo catalog reduced to `langs`, small pools.
pub fn config(instance: &str, langs: &[&str]) -> ServerConfig {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut catalog = pool::Catalog::load(&root.join("images/languages.toml")).unwrap();
    override_images(&mut catalog);
    catalog.languages.retain(|l| langs.contains(&l.id.as_str()));
    for l in &mut catalog.languages {
        l.pool.min_idle = 1;
    }
    let path = std::env::temp_dir().join(format!("warmrun-{instance}-catalog.toml"));
    std::fs::write(&path, toml::to_string(&catalog).unwrap()).unwrap();
    let mut cfg = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        catalog: path,
        ..ServerConfig::default()
    };
    cfg.engine.instance = instance.to_string();
    // Each test server has its own SQLite store, fresh for every run of the tests.
    let data = std::env::temp_dir().join(format!("warmrun-{instance}-data"));
    let _ = std::fs::remove_dir_all(&data);
    cfg.data_dir = data;
    cfg.database_url = None;
    if let Ok(agent) = std::env::var("WARMRUN_AGENT") {
        cfg.engine.agent_path = agent.into();
    }
    if std::env::var("WARMRUN_RUNTIME").as_deref() == Ok("runsc") {
        cfg.engine.runtime = pool::Runtime::Runsc;
    }
    cfg
}

/// Starts a server with `cfg` and waits until its pools are warm.
pub fn start(cfg: ServerConfig) -> TestServer {
    start_serving(cfg).0
}

/// Starts a server with `cfg`, waits until its pools are warm, and returns the task that
/// serves it too (it ends once the server has drained and removed its containers).
pub fn start_serving(
    cfg: ServerConfig,
) -> (TestServer, tokio::task::JoinHandle<anyhow::Result<()>>) {
    start_router(cfg, server::api_router)
}

/// Starts a server with the pages and `/pkg` too (the binary's whole router).
pub fn start_with_pages(cfg: ServerConfig) -> TestServer {
    start_router(cfg, server::app_router).0
}

fn start_router(
    cfg: ServerConfig,
    router: fn(server::state::SharedState) -> axum::Router,
) -> (TestServer, tokio::task::JoinHandle<anyhow::Result<()>>) {
    rt().block_on(async {
        let listener = tokio::net::TcpListener::bind(cfg.listen).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = server::build_state(cfg).await.unwrap();
        let app = router(state.clone());
        let serving = tokio::spawn(server::serve(state.clone(), app, listener));
        let s = TestServer { addr, state };
        wait_ready(&s).await;
        (s, serving)
    })
}

async fn wait_ready(s: &TestServer) {
    for _ in 0..300 {
        if let Ok(r) = reqwest::get(s.url("/readyz")).await {
            if r.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server never became ready");
}

/// The server most tests share: python, bash and c.
pub fn shared() -> &'static TestServer {
    static S: OnceLock<TestServer> = OnceLock::new();
    S.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let name = exe.file_stem().unwrap().to_string_lossy().replace('_', "-");
        start(config(&format!("srv-{name}"), &["python", "bash", "c"]))
    })
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// POSTs JSON and returns status, headers and body.
pub async fn post(url: &str, body: Value) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = http().post(url).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

pub async fn ws_connect(s: &TestServer) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/api/v1/ws", s.addr))
        .await
        .unwrap();
    ws
}

pub async fn ws_send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next JSON frame (panics after 30 s of silence).
pub async fn ws_next(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("a frame within 30 s")
            .expect("socket open")
            .unwrap();
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

/// Frames until (and including) `exit` or `error`, with stdout/stderr concatenated.
pub async fn ws_until_exit(ws: &mut Ws) -> (Vec<Value>, String, String) {
    let mut frames = Vec::new();
    let (mut out, mut err) = (String::new(), String::new());
    loop {
        let f = ws_next(ws).await;
        match f["type"].as_str().unwrap() {
            "stdout" => out += f["data"].as_str().unwrap(),
            "stderr" => err += f["data"].as_str().unwrap(),
            _ => {}
        }
        let done = matches!(f["type"].as_str(), Some("exit") | Some("error"));
        frames.push(f);
        if done {
            return (frames, out, err);
        }
    }
}

/// Skips queue positions until the run starts.
pub async fn ws_until_started(ws: &mut Ws) {
    loop {
        let f = ws_next(ws).await;
        match f["type"].as_str() {
            Some("queued") => continue,
            Some("started") => return,
            _ => panic!("expected started, got {f}"),
        }
    }
}

pub fn run_frame(language: &str, code: &str) -> Value {
    json!({"type": "run", "language": language, "code": code})
}

/// The real `warmrun-server` binary, set up like [`config`] for `instance` on `port` (stdout
/// dropped); callers add their own settings, then [`spawn_logged`].
pub fn server_command(instance: &str, langs: &[&str], port: u16) -> std::process::Command {
    let cfg = config(instance, langs);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_warmrun-server"));
    cmd.env("WARMRUN_LISTEN", format!("127.0.0.1:{port}"))
        .env("WARMRUN_INSTANCE", instance)
        .env("WARMRUN_CATALOG", &cfg.catalog)
        .env("WARMRUN_DATA_DIR", &cfg.data_dir)
        .env("WARMRUN_AGENT", &cfg.engine.agent_path)
        .env("WARMRUN_RUNTIME", cfg.engine.runtime.docker_name())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null());
    cmd
}

/// Starts `cmd`, its stderr forwarded line by line with `[name]` in front (kept flowing, so
/// the process never blocks on it, and visible when a test fails).
pub fn spawn_logged(mut cmd: std::process::Command, name: &str) -> std::process::Child {
    use std::io::{BufRead, BufReader};
    let mut child = cmd
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("warmrun-server starts");
    let err = child.stderr.take().unwrap();
    let name = name.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            eprintln!("[{name}] {line}");
        }
    });
    child
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// C compile steps that succeeded, from `/metrics`: compilations and compiles reused from
/// the compile cache (a program the server compiled before is not compiled again).
pub async fn c_compiles(s: &TestServer) -> u64 {
    let text = reqwest::get(s.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |prefix: &str, verdict: bool| -> u64 {
        text.lines()
            .find(|l| {
                l.starts_with(prefix)
                    && l.contains("language=\"c\"")
                    && (!verdict || l.contains("verdict=\"ok\""))
            })
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0)
    };
    value("warmrun_compile_seconds_count", true) + value("warmrun_compile_cache_hits_total", false)
}
