//! Execution statistics: finished runs are handed to a channel on the request path (no
//! waiting, no I/O) and a background writer adds them to per-day counters in batches;
//! `GET /api/v1/stats` sums the counters.

use super::db::{Db, StatsDelta, StatsRow};
use super::model::{format_day, now_ms, utc_day};
use super::StoreError;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use warmrun_api::{LanguageStats, Stats, Verdict, VerdictShare};

/// Records waiting for the writer at most; more are dropped (and counted in the log).
const QUEUE: usize = 8192;
/// How long the writer gathers records after the first of a batch.
const BATCH_WINDOW: Duration = Duration::from_millis(200);
/// Records per batch at most.
const MAX_BATCH: usize = 4096;

/// One finished run.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub language: String,
    pub verdict: &'static str,
    pub wall_ms: u64,
    pub at_ms: i64,
}

/// What goes to the writer.
enum Msg {
    Run(RunRecord),
    /// Write what came before, then answer.
    Flush(oneshot::Sender<()>),
}

/// The channel to the batch writer.
pub struct Recorder {
    tx: mpsc::Sender<Msg>,
    stop: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
    dropped: AtomicU64,
}

impl Recorder {
    /// Starts the writer.
    pub fn start(db: Db) -> Recorder {
        let (tx, rx) = mpsc::channel(QUEUE);
        let stop = CancellationToken::new();
        let task = tokio::spawn(write_loop(db, rx, stop.clone()));
        Recorder {
            tx,
            stop,
            task: Mutex::new(Some(task)),
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues a record; never waits.
    pub fn record(&self, rec: RunRecord) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(Msg::Run(rec)) {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    dropped = n,
                    "run statistics writer is behind; records were dropped"
                );
            }
        }
    }

    /// Returns once every record queued before the call is written (or the writer stopped).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Writes what is queued and stops the writer.
    pub async fn close(&self) {
        self.stop.cancel();
        let task = self.task.lock().expect("not poisoned").take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

async fn write_loop(db: Db, mut rx: mpsc::Receiver<Msg>, stop: CancellationToken) {
    let mut batch: Vec<RunRecord> = Vec::new();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        // Wait for the first message of a batch.
        let first = tokio::select! {
            m = rx.recv() => m,
            _ = stop.cancelled() => None,
        };
        let mut last = match first {
            Some(Msg::Run(r)) => {
                batch.push(r);
                false
            }
            Some(Msg::Flush(ack)) => {
                waiting.push(ack);
                true
            }
            None => {
                // Stopping: write whatever is still queued.
                while let Ok(m) = rx.try_recv() {
                    match m {
                        Msg::Run(r) => batch.push(r),
                        Msg::Flush(ack) => waiting.push(ack),
                    }
                }
                write(&db, std::mem::take(&mut batch)).await;
                return;
            }
        };
        // Gather more for a little while, unless a flush asks for the write now.
        let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
        while !last && batch.len() < MAX_BATCH {
            tokio::select! {
                m = rx.recv() => match m {
                    Some(Msg::Run(r)) => batch.push(r),
                    Some(Msg::Flush(ack)) => {
                        waiting.push(ack);
                        last = true;
                    }
                    None => last = true,
                },
                _ = tokio::time::sleep_until(deadline) => last = true,
                _ = stop.cancelled() => last = true,
            }
        }
        write(&db, std::mem::take(&mut batch)).await;
        for ack in waiting.drain(..) {
            let _ = ack.send(());
        }
    }
}

/// Sums a batch per key and adds it to the counters; a failed write is logged and lost
/// (statistics must never hold up runs).
async fn write(db: &Db, batch: Vec<RunRecord>) {
    if batch.is_empty() {
        return;
    }
    let n = batch.len();
    let deltas = aggregate(batch);
    if let Err(e) = db.add_run_stats(&deltas).await {
        tracing::warn!(runs = n, "writing run statistics failed: {e}");
    }
}

fn aggregate(batch: Vec<RunRecord>) -> Vec<StatsDelta> {
    let mut sums: HashMap<(i64, String, &'static str), (i64, i64)> = HashMap::new();
    for r in batch {
        let e = sums
            .entry((utc_day(r.at_ms), r.language, r.verdict))
            .or_default();
        e.0 += 1;
        e.1 += i64::try_from(r.wall_ms).unwrap_or(i64::MAX);
    }
    let mut deltas: Vec<StatsDelta> = sums
        .into_iter()
        .map(
            |((utc_day, language, verdict), (runs, wall_ms))| StatsDelta {
                utc_day,
                language,
                verdict: verdict.to_string(),
                runs,
                wall_ms,
            },
        )
        .collect();
    // One order for every writer, so concurrent transactions (several servers sharing a
    // PostgreSQL) take row locks in the same order.
    deltas.sort_by(|a, b| {
        (a.utc_day, &a.language, &a.verdict).cmp(&(b.utc_day, &b.language, &b.verdict))
    });
    deltas
}

/// A share rounded to 4 decimals.
fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
}

fn shares(counts: BTreeMap<Verdict, u64>, whole: u64) -> Vec<VerdictShare> {
    let mut v: Vec<VerdictShare> = counts
        .into_iter()
        .map(|(verdict, runs)| VerdictShare {
            share: share(runs, whole),
            verdict,
            runs,
        })
        .collect();
    v.sort_by(|a, b| {
        b.runs
            .cmp(&a.runs)
            .then_with(|| a.verdict.as_str().cmp(b.verdict.as_str()))
    });
    v
}

/// Reads the counters of the last `days` days (all when None).
pub async fn load(db: &Db, days: Option<u32>) -> Result<Stats, StoreError> {
    let from_day = match days {
        Some(d) => utc_day(now_ms()) - i64::from(d.max(1)) + 1,
        None => i64::MIN,
    };
    let rows = db.run_stats(from_day).await?;
    Ok(summarize(rows, days))
}

fn summarize(rows: Vec<StatsRow>, days: Option<u32>) -> Stats {
    let mut total = 0u64;
    let mut first: Option<i64> = None;
    let mut verdicts: BTreeMap<Verdict, u64> = BTreeMap::new();
    // language -> (runs, wall_ms, verdicts)
    let mut langs: BTreeMap<String, (u64, u64, BTreeMap<Verdict, u64>)> = BTreeMap::new();
    for r in rows {
        let Ok(verdict) = r.verdict.parse::<Verdict>() else {
            // Written by another version of the server sharing the database.
            tracing::warn!(
                verdict = r.verdict,
                "run statistics with an unknown verdict skipped"
            );
            continue;
        };
        let runs = u64::try_from(r.runs).unwrap_or(0);
        let wall = u64::try_from(r.wall_ms).unwrap_or(0);
        total += runs;
        first = Some(first.map_or(r.first_day, |f| f.min(r.first_day)));
        *verdicts.entry(verdict).or_default() += runs;
        let l = langs.entry(r.language).or_default();
        l.0 += runs;
        l.1 += wall;
        *l.2.entry(verdict).or_default() += runs;
    }
    let mut languages: Vec<LanguageStats> = langs
        .into_iter()
        .map(|(language, (runs, wall, v))| LanguageStats {
            language,
            runs,
            share: share(runs, total),
            avg_wall_ms: if runs == 0 {
                0.0
            } else {
                (wall as f64 / runs as f64 * 10.0).round() / 10.0
            },
            verdicts: shares(v, runs),
        })
        .collect();
    languages.sort_by(|a, b| {
        b.runs
            .cmp(&a.runs)
            .then_with(|| a.language.cmp(&b.language))
    });
    Stats {
        total_runs: total,
        days,
        since: first.map(format_day),
        verdicts: shares(verdicts, total),
        languages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(language: &str, verdict: &str, runs: i64, wall_ms: i64, day: i64) -> StatsRow {
        StatsRow {
            language: language.into(),
            verdict: verdict.into(),
            runs,
            wall_ms,
            first_day: day,
        }
    }

    #[test]
    fn summaries_add_up() {
        let s = summarize(
            vec![
                row("python", "ok", 3, 30, 20_000),
                row("python", "runtime_error", 1, 10, 20_001),
                row("bash", "ok", 4, 8, 19_999),
            ],
            None,
        );
        assert_eq!(s.total_runs, 8);
        assert_eq!(s.since.as_deref(), Some("2024-10-03"));
        assert_eq!(s.verdicts[0].verdict, "ok");
        assert_eq!(s.verdicts[0].runs, 7);
        assert_eq!(s.verdicts[0].share, 0.875);
        assert_eq!(s.languages.len(), 2);
        let py = s.languages.iter().find(|l| l.language == "python").unwrap();
        assert_eq!((py.runs, py.share, py.avg_wall_ms), (4, 0.5, 10.0));
        assert_eq!(py.verdicts[0].share, 0.75);
        let empty = summarize(vec![], Some(7));
        assert_eq!(
            (empty.total_runs, empty.since, empty.days),
            (0, None, Some(7))
        );
    }

    #[test]
    fn batches_are_summed_per_key() {
        let at = 1_735_689_600_000; // 2025-01-01
        let rec = |language: &str, verdict, wall_ms| RunRecord {
            language: language.into(),
            verdict,
            wall_ms,
            at_ms: at,
        };
        let d = aggregate(vec![
            rec("python", "ok", 5),
            rec("python", "ok", 7),
            rec("c", "compile_error", 0),
        ]);
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].language.as_str(), d[0].runs), ("c", 1));
        assert_eq!((d[1].runs, d[1].wall_ms), (2, 12));
    }
}
