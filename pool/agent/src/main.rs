//! The agent: PID 2 of every sandbox container (under docker-init). It speaks the framed
//! protocol of the `agent` library on its stdio, runs user programs as the unprivileged
//! sandbox uid, enforces limits, and wipes the sandbox between runs.

mod cgroup;
mod fork_server;
mod input_wait;
mod output;
mod process;
mod sandbox;
mod seccomp;
mod supervise;
mod workers;

use agent::{Event, Request};
use std::io::{BufWriter, Write};
use std::os::fd::FromRawFd;
use std::sync::mpsc;

/// What the agent's threads tell its main loop.
pub enum Msg {
    /// A request from the pool, or `None` when the pool closed our stdin.
    Req(Option<Request>),
    /// Output of process generation `gen`; an empty chunk means end of stream.
    Out {
        gen: u64,
        stderr: bool,
        data: Vec<u8>,
    },
    /// Process generation `gen` exited with a wait status and its resource use.
    Exited {
        gen: u64,
        status: i32,
        cpu_ms: u64,
        memory_kb: u64,
    },
}

/// The agent's stdout, where only the main thread writes frames.
pub struct Outbox(BufWriter<std::fs::File>);

impl Outbox {
    /// Sends one event; the pool going away ends the agent.
    pub fn send(&mut self, ev: &Event) {
        let frame = agent::encode_frame(ev);
        if self
            .0
            .write_all(&frame)
            .and_then(|_| self.0.flush())
            .is_err()
        {
            std::process::exit(0);
        }
    }
}

fn main() {
    let uid: u32 = std::env::var("WARMRUN_SANDBOX_UID")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(65534);
    let sandbox = sandbox::Sandbox::new(uid);
    // SAFETY: fd 1 is our stdout and nothing else in this process writes to it.
    let mut out = Outbox(BufWriter::with_capacity(64 * 1024, unsafe {
        std::fs::File::from_raw_fd(1)
    }));
    let (tx, rx) = mpsc::channel::<Msg>();
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            // SAFETY: fd 0 is our stdin and only this thread reads it.
            let mut input = std::io::BufReader::new(unsafe { std::fs::File::from_raw_fd(0) });
            loop {
                match agent::read_frame::<_, Request>(&mut input) {
                    Ok(Some(req)) => {
                        if tx.send(Msg::Req(Some(req))).is_err() {
                            return;
                        }
                    }
                    Ok(None) | Err(_) => {
                        let _ = tx.send(Msg::Req(None));
                        return;
                    }
                }
            }
        });
    }
    let mut agent = supervise::Agent::new(sandbox, tx, rx);
    agent.reset_and_announce(&mut out);
    agent.serve(&mut out);
}
