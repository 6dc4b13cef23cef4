//! A container runtime in memory, for unit tests of the pools without Docker: each
//! "container" is a task speaking the agent protocol over an in-memory pipe.
//!
//! The fake agent runs a program given as its main file's text: `sleep <ms>` waits that long
//! (or until killed) and exits; anything else is echoed to stdout.

use crate::backend::{Attached, Backend, ContainerState, CreateSpec, Managed};
use crate::error::PoolError;
use crate::ownership::LABEL_LANGUAGE;
use agent::{Event, ExitReport, Request, Verdict, PROTOCOL_VERSION};
use async_trait::async_trait;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio::task::JoinHandle;
use tokio_util::codec::{FramedRead, LengthDelimitedCodec};

struct Entry {
    managed: Managed,
    agent: Option<JoinHandle<()>>,
}

#[derive(Default)]
pub(crate) struct FakeBackend {
    containers: Mutex<HashMap<String, Entry>>,
    next_id: AtomicUsize,
    /// Containers created so far.
    pub(crate) created: AtomicUsize,
    /// The most containers that existed at once, in all and per language.
    pub(crate) peak: AtomicUsize,
    peak_by_language: Mutex<HashMap<String, usize>>,
    /// How long a creation takes.
    pub(crate) create_delay_ms: AtomicU64,
    /// A protocol version other than the engine's, for agents that are stale.
    pub(crate) agent_protocol: Mutex<Option<u32>>,
    /// Creations fail while set.
    pub(crate) failing: AtomicBool,
    /// Containers removed, by id.
    pub(crate) removed: Mutex<Vec<String>>,
    pub(crate) memory_updates: AtomicU32,
    /// Memory updates fail while set (as `docker update` can).
    pub(crate) memory_updates_fail: AtomicBool,
}

impl FakeBackend {
    /// A container of another engine, with no agent behind it.
    pub(crate) fn seed(&self, id: &str, labels: HashMap<String, String>, state: ContainerState) {
        self.containers.lock().unwrap().insert(
            id.to_string(),
            Entry {
                managed: Managed {
                    id: id.to_string(),
                    labels,
                    state,
                    created: 0,
                },
                agent: None,
            },
        );
    }

    /// Ids of the containers that exist now.
    pub(crate) fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.containers.lock().unwrap().keys().cloned().collect();
        ids.sort();
        ids
    }

    /// The most containers of `language` that existed at once.
    pub(crate) fn peak_of(&self, language: &str) -> usize {
        *self
            .peak_by_language
            .lock()
            .unwrap()
            .get(language)
            .unwrap_or(&0)
    }

    /// Makes a container die as if killed from outside: its agent goes, Docker keeps it
    /// exited.
    pub(crate) fn kill(&self, id: &str) {
        if let Some(e) = self.containers.lock().unwrap().get_mut(id) {
            if let Some(a) = e.agent.take() {
                a.abort();
            }
            e.managed.state = ContainerState::Exited;
        }
    }

    fn record_peaks(&self, map: &HashMap<String, Entry>) {
        let live = |e: &&Entry| e.agent.is_some();
        self.peak
            .fetch_max(map.values().filter(live).count(), Ordering::SeqCst);
        let mut by = HashMap::<String, usize>::new();
        for e in map.values().filter(live) {
            let lang = e.managed.labels.get(LABEL_LANGUAGE).cloned();
            *by.entry(lang.unwrap_or_default()).or_default() += 1;
        }
        let mut peaks = self.peak_by_language.lock().unwrap();
        for (lang, n) in by {
            let p = peaks.entry(lang).or_default();
            *p = (*p).max(n);
        }
    }
}

#[async_trait]
impl Backend for FakeBackend {
    async fn create(&self, spec: &CreateSpec<'_>) -> Result<Attached, PoolError> {
        let delay = self.create_delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(PoolError::Sandbox("the fake runtime refuses".into()));
        }
        let id = format!("fake{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        let (engine_end, agent_end) = tokio::io::duplex(1 << 16);
        let protocol = self
            .agent_protocol
            .lock()
            .unwrap()
            .unwrap_or(PROTOCOL_VERSION);
        let agent = tokio::spawn(fake_agent(agent_end, protocol, spec.sandbox_uid));
        let mut map = self.containers.lock().unwrap();
        map.insert(
            id.clone(),
            Entry {
                managed: Managed {
                    id: id.clone(),
                    labels: spec.labels.clone(),
                    state: ContainerState::Running,
                    created: 0,
                },
                agent: Some(agent),
            },
        );
        self.created.fetch_add(1, Ordering::SeqCst);
        self.record_peaks(&map);
        let (stdout, stdin) = tokio::io::split(engine_end);
        Ok(Attached {
            id,
            stdout: Box::pin(stdout),
            stdin: Box::pin(stdin),
        })
    }

    async fn set_memory(&self, _id: &str, _memory_mb: u64) -> Result<(), PoolError> {
        self.memory_updates.fetch_add(1, Ordering::SeqCst);
        if self.memory_updates_fail.load(Ordering::SeqCst) {
            return Err(PoolError::Sandbox("memory update refused".into()));
        }
        Ok(())
    }

    async fn oom_killed(&self, _id: &str, _since: std::time::SystemTime) -> bool {
        false
    }

    async fn remove(&self, id: &str) {
        if let Some(e) = self.containers.lock().unwrap().remove(id) {
            if let Some(a) = e.agent {
                a.abort();
            }
            self.removed.lock().unwrap().push(id.to_string());
        }
    }

    async fn list_managed(&self) -> Result<Vec<Managed>, PoolError> {
        let map = self.containers.lock().unwrap();
        Ok(map.values().map(|e| e.managed.clone()).collect())
    }

    async fn image_present(&self, _image: &str) -> bool {
        true
    }

    async fn ping(&self) -> Result<(), PoolError> {
        Ok(())
    }
}

async fn fake_agent(io: DuplexStream, protocol: u32, sandbox_uid: u32) {
    let (r, mut w) = tokio::io::split(io);
    let codec = LengthDelimitedCodec::builder()
        .little_endian()
        .length_field_length(4)
        .new_codec();
    let mut frames = FramedRead::new(r, codec);
    let ready = Event::Ready {
        protocol,
        sandbox_uid,
    };
    if w.write_all(&agent::encode_frame(&ready)).await.is_err() {
        return;
    }
    let exit = |verdict| ExitReport {
        wall_ms: 1,
        ..ExitReport::unmeasured(verdict)
    };
    while let Some(Ok(frame)) = frames.next().await {
        let Ok(req) = agent::decode_payload::<Request>(&frame) else {
            return;
        };
        let answer: Vec<Event> = match req {
            Request::Run(spec) => {
                let _ = w.write_all(&agent::encode_frame(&Event::Started)).await;
                let program = String::from_utf8_lossy(&spec.files[0].content).into_owned();
                if let Some(ms) = program.strip_prefix("sleep ") {
                    let ms: u64 = ms.trim().parse().unwrap_or(0);
                    let sleep = tokio::time::sleep(Duration::from_millis(ms));
                    tokio::pin!(sleep);
                    let killed = loop {
                        tokio::select! {
                            _ = &mut sleep => break false,
                            f = frames.next() => match f.map(|f| f.ok().and_then(|f| agent::decode_payload::<Request>(&f).ok())) {
                                Some(Some(Request::Kill)) => break true,
                                Some(Some(_)) => continue,
                                _ => return,
                            },
                        }
                    };
                    vec![Event::Exit(exit(if killed {
                        Verdict::Killed
                    } else {
                        Verdict::Ok
                    }))]
                } else {
                    vec![
                        Event::Stdout(program.into_bytes()),
                        Event::Exit(exit(Verdict::Ok)),
                    ]
                }
            }
            // Judge mode: the program echoes its case's input.
            Request::Case(case) => vec![
                Event::Started,
                Event::Stdout(case.stdin),
                Event::Exit(exit(Verdict::Ok)),
            ],
            Request::Reset => vec![ready.clone()],
            Request::Ping => vec![Event::Pong],
            _ => vec![],
        };
        for ev in answer {
            if w.write_all(&agent::encode_frame(&ev)).await.is_err() {
                return;
            }
        }
    }
}
