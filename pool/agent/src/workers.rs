//! Threads that outlive their job: every step needs four (two output pumps, the stdin
//! feeder, the exit waiter), and starting and ending them per run was a third of the agent's
//! CPU per hello world (clone, the stack's mmap/munmap and the TLB shootdowns that come with
//! unmapping in a process whose threads run on several CPUs; benches/cpu_per_run.rs). A
//! finished job's thread waits for the next one instead.
//!
//! Jobs block for as long as a step runs, so a fixed-size pool would deadlock; this is a
//! cached pool (as many threads as jobs at once, idle ones kept up to a cap), small enough
//! not to be worth a dependency in the static agent.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Mutex;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Idle threads kept: a step's four and a spare (more only come from a burst).
const MAX_IDLE: usize = 5;

/// Idle threads, each waiting on its own channel for a job.
static IDLE: Mutex<Vec<Sender<Job>>> = Mutex::new(Vec::new());

/// Threads started so far (for the tests).
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// Runs `job` on an idle thread, or on a new one if none is idle.
pub fn spawn(job: impl FnOnce() + Send + 'static) {
    let mut job: Job = Box::new(job);
    loop {
        let idle = IDLE.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let Some(worker) = idle else { break };
        match worker.send(job) {
            Ok(()) => return,
            // That thread is gone (it cannot be, but then the job is still ours).
            Err(mpsc::SendError(back)) => job = back,
        }
    }
    STARTED.fetch_add(1, Ordering::Relaxed);
    std::thread::spawn(move || serve(job));
}

fn serve(first: Job) {
    first();
    let (tx, rx) = mpsc::channel::<Job>();
    loop {
        {
            let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() >= MAX_IDLE {
                return;
            }
            idle.push(tx.clone());
        }
        match rx.recv() {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;
    use std::time::Duration;

    /// The tests share the idle list: one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    #[test]
    fn jobs_that_block_together_all_run() {
        let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        // More blocking jobs at once than the idle cap: each must get a thread.
        let (release_tx, release_rx) = channel::<()>();
        let release_rx = std::sync::Arc::new(Mutex::new(release_rx));
        let (done_tx, done_rx) = channel::<usize>();
        for i in 0..(MAX_IDLE * 2) {
            let release_rx = release_rx.clone();
            let done_tx = done_tx.clone();
            spawn(move || {
                let _ = release_rx
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(10));
                done_tx.send(i).unwrap();
            });
        }
        for _ in 0..(MAX_IDLE * 2) {
            release_tx.send(()).unwrap();
        }
        let mut done: Vec<usize> = (0..MAX_IDLE * 2)
            .map(|_| done_rx.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        done.sort();
        assert_eq!(done, (0..MAX_IDLE * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_finished_thread_takes_the_next_job() {
        let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let (tx, rx) = channel::<()>();
        let first = tx.clone();
        spawn(move || first.send(()).unwrap());
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        // The thread goes back to waiting after its job: wait for it (with a deadline).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while IDLE.lock().unwrap().is_empty() {
            assert!(std::time::Instant::now() < deadline, "no thread went idle");
            std::thread::sleep(Duration::from_millis(1));
        }
        let started = STARTED.load(Ordering::Relaxed);
        spawn(move || tx.send(()).unwrap());
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(
            STARTED.load(Ordering::Relaxed),
            started,
            "a new thread was started"
        );
    }
}
