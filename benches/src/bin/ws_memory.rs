//! Memory of idle WebSocket sessions: the server's RSS before and after opening N sockets.
//!
//!   cargo run --release -p benches --bin ws_memory [-- SESSIONS]   (default 1000)
//!
//! Starts its own release `warmrun-server` with `[limits] sessions_per_ip = 2000` and no
//! rate limit, raises the open-file limit (ulimit -n) for itself and the server, reads
//! the server's VmRSS from /proc/<pid>/status, opens SESSIONS sockets to /api/v1/ws
//! (no run on them: idle sessions), checks `warmrun_ws_sessions`, reads VmRSS again,
//! closes them and reads it a third time. Kernel socket buffers are not in the RSS.
//! Also reads one idle python container's memory cgroup usage, for the ratio.

#[path = "../ops_common.rs"]
mod ops_common;

use futures_util::future::join_all;
use ops_common::*;
use std::time::Duration;

fn cgroup_usage_kib(id: &str) -> u64 {
    std::fs::read_to_string(format!(
        "/sys/fs/cgroup/memory/docker/{id}/memory.usage_in_bytes"
    ))
    .ok()
    .and_then(|s| s.trim().parse::<u64>().ok())
    .unwrap_or(0)
        / 1024
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let nofile = raise_nofile(n as u64 * 2 + 1024);
    assert!(
        nofile as usize > n + 100,
        "open-file limit {nofile} is too low for {n} sockets (ulimit -n)"
    );
    let server = Server::start(
        "benchmem",
        &format!(
            "[rate_limit]\nper_ip_per_s = 0\n[limits]\nsessions_per_ip = {}\nidle_timeout_s = 600\n",
            n.max(2000)
        ),
        None,
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = server.rss_kib();
    let url = server.ws_url();
    let mut sockets = Vec::with_capacity(n);
    while sockets.len() < n {
        let batch = (n - sockets.len()).min(100);
        sockets.extend(join_all((0..batch).map(|_| ws_connect(&url))).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let open = server.metric("warmrun_ws_sessions ").unwrap_or(-1.0);
    let after = server.rss_kib();
    let hwm = proc_status_kib(server.pid(), "VmHWM");
    let threads = proc_status_kib(server.pid(), "Threads");
    drop(sockets);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let closed = server.rss_kib();
    let open_after_close = server.metric("warmrun_ws_sessions ").unwrap_or(-1.0);
    let container = server
        .containers("python")
        .first()
        .map(|id| cgroup_usage_kib(id))
        .unwrap_or(0);

    let delta = after.saturating_sub(before);
    let per = delta as f64 / n as f64;
    println!(
        "Memory of {n} idle WebSocket sessions (warmrun-server pid {}, ulimit -n {nofile}):",
        server.pid()
    );
    println!("  warmrun_ws_sessions while open   {open}   (after closing: {open_after_close})");
    println!(
        "  server VmRSS before              {:8.1} MiB",
        before as f64 / 1024.0
    );
    println!(
        "  server VmRSS with {n} open     {:8.1} MiB   (VmHWM {:.1} MiB, {threads} threads)",
        after as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    println!(
        "  server VmRSS after closing       {:8.1} MiB",
        closed as f64 / 1024.0
    );
    println!(
        "  delta                            {:8.1} MiB = {per:.1} KiB per idle session",
        delta as f64 / 1024.0
    );
    if container > 0 {
        println!(
            "ratio: one idle python container (cgroup usage {:.1} MiB) = {:.0} idle sessions; {n} sessions = {:.2} idle containers",
            container as f64 / 1024.0,
            container as f64 / per.max(0.001),
            delta as f64 / container as f64
        );
    }
    drop(server);
}
