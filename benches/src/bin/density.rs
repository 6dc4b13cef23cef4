//! Density: N interactive Python sessions that arrive at a given rate, all block on
//! `input()` and stay open together; then every one is answered and must exit `ok`.
//!
//!   cargo run --release -p benches --bin density [-- SESSIONS [RATE_PER_S [HOLD_S [FLOOR]]]]
//!   (defaults 1000, 20, 60, 0: issue 15's target)
//!
//! FLOOR > 0 sets python's catalog `min_idle` (the pool's floor) to FLOOR and waits until
//! that many containers are idle before the first arrival: an operator's answer to a
//! known ramp when the host cannot create containers as fast as sessions arrive.
//!
//! Starts its own release `warmrun-server` with the default engine configuration except what
//! the test itself needs: python's catalog `max` and `max_containers` raised to hold SESSIONS
//! leases, no per-address rate or session limit (one client address sends everything), a
//! queue as long as the test. Each session opens /api/v1/ws, sends a `run` of the catalog's
//! Python example and times connection → the prompt on a `stdout` frame. Once every session
//! has its prompt (or failed), it reads host memory (MemTotal − MemAvailable, against the
//! figure before the server started) and the server's RSS, waits HOLD_S, answers them all
//! (at the arrival rate, in arrival order) and checks each `exit` frame and greeting.
//! Figures go to README "Density".

#[path = "../ops_common.rs"]
mod ops_common;

use futures_util::future::join_all;
use ops_common::*;
use std::time::{Duration, Instant};

const PROGRAM: &str = "name = input(\"What is your name? \")\nprint(f\"Hello, {name}!\")\n";
/// How long a session may wait for its prompt before it counts as failed.
const PROMPT_DEADLINE: Duration = Duration::from_secs(120);

/// Memory in use on the host (what cannot be reclaimed), KiB.
fn host_used_kib() -> u64 {
    kib_field("/proc/meminfo", "MemTotal")
        .saturating_sub(kib_field("/proc/meminfo", "MemAvailable"))
}

/// `text` with the first `key = …` line after `after` set to `value`.
fn set_after(text: &str, after: &str, key: &str, value: usize) -> String {
    let start = text.find(after).expect("catalog entry");
    let line = format!("\n{key} = ");
    let at = text[start..].find(&line).expect("catalog key") + start;
    let end = text[at + 1..].find('\n').expect("line end") + at + 1;
    format!("{}{line}{value}{}", &text[..at], &text[end..])
}

/// The catalog with python's pool `max` and `min_idle` set.
fn catalog_for_python(max: usize, min_idle: usize) -> String {
    let text = std::fs::read_to_string(repo_root().join("images/languages.toml"))
        .expect("images/languages.toml");
    let entry = "\nid = \"python\"\n";
    let text = set_after(&text, entry, "max", max);
    set_after(&text, entry, "min_idle", min_idle.max(1))
}

/// Idle python containers, from /metrics.
fn idle_python(server: &Server) -> usize {
    server
        .metric("warmrun_pool_containers{language=\"python\",state=\"idle\"}")
        .unwrap_or(0.0) as usize
}

enum Opened {
    Prompted { ws: Box<Ws>, prompt_ms: f64 },
    Failed(String),
}

/// One session: waits for its arrival time, connects, runs the program, waits for its prompt.
async fn open_session(url: String, arrive: Instant) -> Opened {
    tokio::time::sleep_until(arrive.into()).await;
    let t0 = Instant::now();
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(&url).await else {
        return Opened::Failed("connect".into());
    };
    ws_send(
        &mut ws,
        serde_json::json!({"type": "run", "language": "python", "code": PROGRAM}),
    )
    .await;
    let mut out = String::new();
    let waited = tokio::time::timeout(PROMPT_DEADLINE, async {
        loop {
            let f = ws_next(&mut ws).await;
            match f["type"].as_str() {
                Some("stdout") => {
                    out.push_str(f["data"].as_str().unwrap_or(""));
                    if out.contains("name?") {
                        return Ok(());
                    }
                }
                Some("error") => return Err(f["code"].as_str().unwrap_or("error").to_string()),
                Some("exit") => return Err(format!("exit before prompt: {f}")),
                _ => {}
            }
        }
    })
    .await;
    match waited {
        Ok(Ok(())) => Opened::Prompted {
            ws: Box::new(ws),
            prompt_ms: ms(t0.elapsed()),
        },
        Ok(Err(code)) => Opened::Failed(code),
        Err(_) => Opened::Failed("no prompt within 120 s".into()),
    }
}

/// Answers a prompted session at `at`: Ok when it exits `ok` with the greeting (with the
/// run's wall time, which does not count the wait for input), else what it did.
async fn answer(mut ws: Box<Ws>, i: usize, at: Instant) -> Result<f64, String> {
    tokio::time::sleep_until(at.into()).await;
    let name = format!("user{i}");
    ws_send(
        &mut ws,
        serde_json::json!({"type": "stdin", "data": format!("{name}\n")}),
    )
    .await;
    let mut out = String::new();
    let mut announced = false;
    let exit = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let f = ws_next(&mut ws).await;
            match f["type"].as_str() {
                Some("stdout") => out.push_str(f["data"].as_str().unwrap_or("")),
                Some("waiting_for_input") => announced = true,
                Some("exit") | Some("error") => return f,
                _ => {}
            }
        }
    })
    .await;
    match exit {
        Err(_) => Err("no exit within 60 s".into()),
        Ok(f) if f["type"] == "error" => Err(format!("error {}", f["code"])),
        Ok(f) if f["verdict"] != "ok" => Err(format!(
            "verdict {} ({}announced as waiting)",
            f["verdict"],
            if announced { "" } else { "not " }
        )),
        Ok(_) if !out.contains(&format!("Hello, {name}!")) => Err("no greeting".into()),
        Ok(f) => Ok(f["wall_ms"].as_f64().unwrap_or(f64::NAN)),
    }
}

#[tokio::main]
async fn main() {
    let arg = |i: usize, default: f64| -> f64 {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let n = arg(1, 1000.0) as usize;
    let rate = arg(2, 20.0);
    let hold = Duration::from_secs_f64(arg(3, 60.0));
    let floor = arg(4, 0.0) as usize;
    let nofile = raise_nofile(n as u64 * 4 + 4096);
    assert!(
        nofile as usize > n * 2 + 100,
        "open-file limit {nofile} is too low for {n} sessions (ulimit -n)"
    );
    let catalog = std::env::temp_dir().join(format!("warmrun-density-{}.toml", std::process::id()));
    std::fs::write(&catalog, catalog_for_python(n + 8, floor)).expect("write catalog");
    // Before the server: its pools' containers (every language's floor, and FLOOR's) count
    // against the sessions.
    let base_used = host_used_kib();
    let started = Instant::now();
    let mut server = Server::start_within(
        "density",
        &format!(
            "[rate_limit]\nper_ip_per_s = 0\nper_ip_burst = 0\n\
             [limits]\nsessions_per_ip = {}\nidle_timeout_s = 3600\n\
             [engine]\nmax_containers = {}\nqueue_capacity = {}\n",
            n * 2,
            n + 16,
            n * 2
        ),
        Some(catalog.to_str().expect("utf-8 path")),
        Duration::from_secs(1800),
    );
    // /readyz waits for the floors; the pools' other start-up creations end meanwhile.
    while idle_python(&server) < floor {
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "{} of {floor} idle after 30 min",
            idle_python(&server)
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    if floor > 0 {
        let took = started.elapsed().as_secs_f64();
        println!(
            "Floor: {floor} idle python containers made in {took:.1} s ({:.1}/s) before the first arrival",
            floor as f64 / took
        );
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    let base_rss = server.rss_kib();
    let busy0 = machine_busy_s();

    let url = server.ws_url();
    let start = Instant::now();
    let opened = join_all((0..n).map(|i| {
        let arrive = start + Duration::from_secs_f64(i as f64 / rate);
        open_session(url.clone(), arrive)
    }))
    .await;
    let all_in = start.elapsed();
    let busy1 = machine_busy_s();
    let used = host_used_kib();
    let rss = server.rss_kib();
    let containers = server.containers("python").len();

    let mut prompts = Vec::new();
    let mut failures: std::collections::BTreeMap<String, usize> = Default::default();
    let mut open = Vec::new();
    for (i, o) in opened.into_iter().enumerate() {
        match o {
            Opened::Prompted { ws, prompt_ms } => {
                prompts.push(prompt_ms);
                open.push((i, ws));
            }
            Opened::Failed(why) => *failures.entry(why).or_default() += 1,
        }
    }
    let prompted = prompts.len();
    let s = stats(&mut prompts);
    let slowest = prompts.last().copied().unwrap_or(f64::NAN);
    let within_5s = prompts.iter().filter(|&&p| p <= 5000.0).count();
    let per_session = used.saturating_sub(base_used) as f64 / prompted.max(1) as f64;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let cpu_busy = (busy1 - busy0) / all_in.as_secs_f64().max(0.001);

    println!(
        "Density: {n} interactive Python sessions arriving at {rate}/s (warmrun-server pid {}):",
        server.pid()
    );
    println!(
        "  prompted            {prompted} of {n} in {:.1} s; refused/failed: {failures:?}",
        all_in.as_secs_f64()
    );
    println!("  connection → prompt {s}; slowest {slowest:.0} ms; within 5 s: {within_5s}");
    println!(
        "  host memory in use  +{:.0} MiB = {:.2} MiB per open session (MemTotal − MemAvailable)",
        used.saturating_sub(base_used) as f64 / 1024.0,
        per_session / 1024.0
    );
    println!(
        "  server VmRSS        {:.1} MiB → {:.1} MiB ({:.1} KiB per session); {containers} python containers",
        base_rss as f64 / 1024.0,
        rss as f64 / 1024.0,
        rss.saturating_sub(base_rss) as f64 / prompted.max(1) as f64
    );
    println!("  machine CPU busy    {cpu_busy:.2} of {cores} cores during the arrivals");

    eprintln!(
        "[bench] holding {} sessions for {:.0} s",
        open.len(),
        hold.as_secs_f64()
    );
    tokio::time::sleep(hold).await;
    let answered = Instant::now();
    // People answer as they came, not all in the same millisecond: at the arrival rate.
    let results =
        join_all(open.into_iter().enumerate().map(|(k, (i, ws))| {
            answer(ws, i, answered + Duration::from_secs_f64(k as f64 / rate))
        }))
        .await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let mut run_ms: Vec<f64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    let run_ms = stats(&mut run_ms);
    let mut wrong: std::collections::BTreeMap<String, usize> = Default::default();
    for r in results.into_iter().filter_map(Result::err) {
        *wrong.entry(r).or_default() += 1;
    }
    println!(
        "  answered after {:.0} s: {ok} of {prompted} exit ok with their greeting ({:.1} s for all); others: {wrong:?}",
        hold.as_secs_f64(),
        answered.elapsed().as_secs_f64()
    );
    let met = failures.is_empty() && slowest <= 5000.0 && per_session <= 10.0 * 1024.0 && ok == n;
    println!("  run time of those (wall time not spent waiting for input): {run_ms}");
    println!(
        "target (none refused, every prompt ≤ 5 s, ≤ 10 MiB per session, all exit ok): {}",
        if met { "met" } else { "NOT met" }
    );
    let stopping = Instant::now();
    server.stop_within(Duration::from_secs(900));
    eprintln!(
        "[bench] server stopped, its containers removed, in {:.1} s",
        stopping.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_file(&catalog);
}
