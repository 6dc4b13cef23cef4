//! Who owns a container, and which containers of others may be removed.
//!
//! Every container carries the labels of the engine that made it: its node id (stable across
//! restarts of that node), its boot id (new at every start), and for compatibility its
//! instance and pid. Engines sharing a Docker daemon remove only:
//! - at start, their own node's containers of another boot (their predecessor's);
//! - containers of another owner that the [`OwnerLiveness`] oracle declares dead (asked at
//!   start and by the janitor); "don't know" keeps the container;
//! - containers without node labels (made by an engine older than these labels) by the old
//!   rule: of the same instance and another pid, or of a pid that no longer exists here.

use async_trait::async_trait;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// Label present on every container this project creates.
pub const LABEL_MANAGED: &str = "io.warmrun.managed";
/// Label naming the engine instance that owns the container.
pub const LABEL_INSTANCE: &str = "io.warmrun.instance";
/// Label with the owning process's pid (scripts/test.sh's clean-up reads it).
pub const LABEL_PID: &str = "io.warmrun.pid";
/// Label with the container's language id.
pub const LABEL_LANGUAGE: &str = "io.warmrun.language";
/// Label with the owning engine's node id (`EngineConfig::node_id`).
pub const LABEL_NODE: &str = "io.warmrun.node";
/// Label with the owning engine's boot id, new at every `Engine::start`.
pub const LABEL_BOOT: &str = "io.warmrun.boot";
/// Label naming the PID namespace the `io.warmrun.pid` label counts in (kernel boot id and
/// namespace inode), so that a pid is only ever looked up in the namespace it belongs to.
pub const LABEL_PIDNS: &str = "io.warmrun.pidns";

/// The engine owning a container, as its labels say.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    pub node: String,
    pub boot: String,
    pub instance: String,
    /// The owning process's pid, in the PID namespace `pidns`.
    pub pid: Option<u32>,
    pub pidns: Option<String>,
}

/// Tells whether the engine that owns a container still runs.
#[async_trait]
pub trait OwnerLiveness: Send + Sync + 'static {
    /// `Some(true)`: alive (keep its containers); `Some(false)`: dead (they may be removed);
    /// `None`: unknown (keep them).
    async fn alive(&self, owner: &Owner) -> Option<bool>;
}

/// The default oracle, with no shared database: an owner is alive while its process exists,
/// looked up in `/proc` when it ran in this engine's PID namespace; owners in other namespaces
/// are unknown.
pub struct LocalProcessLiveness;

#[async_trait]
impl OwnerLiveness for LocalProcessLiveness {
    async fn alive(&self, owner: &Owner) -> Option<bool> {
        if owner
            .pidns
            .as_deref()
            .is_some_and(|ns| ns != pid_namespace())
        {
            return None;
        }
        let pid = owner.pid?;
        Some(pid == std::process::id() || std::path::Path::new(&format!("/proc/{pid}")).exists())
    }
}

/// This process's PID namespace, unique across machines: the kernel's boot id and the
/// namespace's inode.
pub fn pid_namespace() -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let ns = std::fs::read_link("/proc/self/ns/pid")
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    format!("{}/{ns}", boot.trim())
}

/// This engine: what it writes on its containers.
#[derive(Debug, Clone)]
pub struct Identity {
    pub node: String,
    pub boot: String,
    pub instance: String,
    pub pid: u32,
    pub pidns: String,
}

impl Identity {
    /// The identity of an engine starting now in this process.
    pub fn new(node: &str, instance: &str) -> Identity {
        Identity {
            node: node.to_string(),
            boot: new_boot_id(),
            instance: instance.to_string(),
            pid: std::process::id(),
            pidns: pid_namespace(),
        }
    }

    /// The labels of a container of `language`.
    pub fn labels(&self, language: &str) -> HashMap<String, String> {
        HashMap::from([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_INSTANCE.to_string(), self.instance.clone()),
            (LABEL_PID.to_string(), self.pid.to_string()),
            (LABEL_PIDNS.to_string(), self.pidns.clone()),
            (LABEL_NODE.to_string(), self.node.clone()),
            (LABEL_BOOT.to_string(), self.boot.clone()),
            (LABEL_LANGUAGE.to_string(), language.to_string()),
        ])
    }

    /// Whether this very engine made a container with these labels.
    pub fn owns(&self, labels: &HashMap<String, String>) -> bool {
        labels.get(LABEL_NODE) == Some(&self.node) && labels.get(LABEL_BOOT) == Some(&self.boot)
    }
}

/// 64 random bits in hex: std's hasher keys are random per process, and the time and a
/// counter make two engines of one process differ.
fn new_boot_id() -> String {
    static STARTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    h.write_u64(STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    format!("{:016x}", h.finish())
}

/// When ownership is being decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The engine is starting: its node's containers of other boots are its predecessor's.
    Start,
    /// A periodic round of the janitor, with the engine running.
    Janitor,
}

/// What a container is to this engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Made by this engine.
    Mine,
    /// Made by an earlier engine of this node (or, while running, by another engine wrongly
    /// configured with this node id).
    SameNode(Owner),
    /// Made by an engine of another node.
    Other(Owner),
    /// Made by an engine older than node labels; the old rule decides.
    Legacy { remove: bool },
}

/// Reads a container's labels.
pub fn claim(labels: &HashMap<String, String>, me: &Identity) -> Claim {
    let get = |k: &str| labels.get(k).cloned();
    let pid: Option<u32> = get(LABEL_PID).and_then(|p| p.parse().ok());
    let (Some(node), Some(boot)) = (get(LABEL_NODE), get(LABEL_BOOT)) else {
        let same_instance = get(LABEL_INSTANCE).as_deref() == Some(me.instance.as_str());
        let owner_gone = pid != Some(me.pid)
            && pid.is_none_or(|p| !std::path::Path::new(&format!("/proc/{p}")).exists());
        return Claim::Legacy {
            remove: (same_instance && pid != Some(me.pid)) || owner_gone,
        };
    };
    if node == me.node && boot == me.boot {
        return Claim::Mine;
    }
    let owner = Owner {
        instance: get(LABEL_INSTANCE).unwrap_or_default(),
        pid,
        pidns: get(LABEL_PIDNS),
        node,
        boot,
    };
    if owner.node == me.node {
        Claim::SameNode(owner)
    } else {
        Claim::Other(owner)
    }
}

/// The owner whose liveness decides, when the oracle has to be asked.
pub fn needs_oracle(claim: &Claim, phase: Phase) -> Option<&Owner> {
    match (claim, phase) {
        (Claim::SameNode(_), Phase::Start) => None,
        (Claim::SameNode(o) | Claim::Other(o), _) => Some(o),
        _ => None,
    }
}

/// Whether a container of another owner is to be removed, given the oracle's answer (when
/// it was asked; see [`needs_oracle`]).
pub fn remove_foreign(claim: &Claim, phase: Phase, alive: Option<bool>) -> bool {
    match claim {
        Claim::Mine => false,
        Claim::SameNode(_) if phase == Phase::Start => true,
        Claim::SameNode(_) | Claim::Other(_) => alive == Some(false),
        // The old rule ran at start only, before any engine could tell its containers apart.
        Claim::Legacy { remove } => *remove && phase == Phase::Start,
    }
}

/// Ids of the containers of other owners to remove now, asking `oracle` once per owner.
pub async fn foreign_to_remove(
    listed: &[(String, HashMap<String, String>)],
    me: &Identity,
    phase: Phase,
    oracle: &dyn OwnerLiveness,
) -> Vec<String> {
    let mut answers: HashMap<Owner, Option<bool>> = HashMap::new();
    let mut remove = Vec::new();
    for (id, labels) in listed {
        let c = claim(labels, me);
        let alive = match needs_oracle(&c, phase) {
            Some(owner) => match answers.get(owner) {
                Some(a) => *a,
                None => {
                    let a = oracle.alive(owner).await;
                    answers.insert(owner.clone(), a);
                    a
                }
            },
            None => None,
        };
        if remove_foreign(&c, phase, alive) {
            remove.push(id.clone());
        }
    }
    remove
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn me() -> Identity {
        Identity {
            node: "a".into(),
            boot: "a1".into(),
            instance: "inst".into(),
            pid: std::process::id(),
            pidns: pid_namespace(),
        }
    }

    fn labels_of(node: &str, boot: &str) -> HashMap<String, String> {
        let mut other = me();
        other.node = node.into();
        other.boot = boot.into();
        other.labels("python")
    }

    /// Answers by node; counts the questions.
    struct Table(HashMap<&'static str, Option<bool>>, Mutex<usize>);

    #[async_trait]
    impl OwnerLiveness for Table {
        async fn alive(&self, owner: &Owner) -> Option<bool> {
            *self.1.lock().unwrap() += 1;
            self.0.get(owner.node.as_str()).copied().flatten()
        }
    }

    #[tokio::test]
    async fn removes_only_what_dead_owners_and_predecessors_left() {
        let listed: Vec<(String, HashMap<String, String>)> = vec![
            ("mine".into(), labels_of("a", "a1")),
            ("predecessor".into(), labels_of("a", "a0")),
            ("live".into(), labels_of("b", "b1")),
            ("dead".into(), labels_of("c", "c1")),
            ("dead2".into(), labels_of("c", "c1")),
            ("unknown".into(), labels_of("d", "d1")),
        ];
        let oracle = Table(
            HashMap::from([("a", Some(true)), ("b", Some(true)), ("c", Some(false))]),
            Mutex::new(0),
        );
        let at_start = foreign_to_remove(&listed, &me(), Phase::Start, &oracle).await;
        assert_eq!(at_start, ["predecessor", "dead", "dead2"]);
        // One question per owner (b, c, d), none about this node at start.
        assert_eq!(*oracle.1.lock().unwrap(), 3);
        // While running, a same-node container of another boot is another live engine's
        // unless the oracle says otherwise.
        let later = foreign_to_remove(&listed, &me(), Phase::Janitor, &oracle).await;
        assert_eq!(later, ["dead", "dead2"]);
    }

    #[test]
    fn legacy_containers_follow_the_pid_rule_at_start_only() {
        let me = me();
        let legacy = |instance: &str, pid: &str| {
            HashMap::from([
                (LABEL_MANAGED.to_string(), "true".to_string()),
                (LABEL_INSTANCE.to_string(), instance.to_string()),
                (LABEL_PID.to_string(), pid.to_string()),
            ])
        };
        let gone_pid = "4194304"; // above any pid_max: no such process
        let alive_pid = "1";
        let own_pid = std::process::id().to_string();
        for (labels, remove) in [
            (legacy("other", gone_pid), true),
            (legacy("other", alive_pid), false),
            (legacy("inst", alive_pid), true),
            (legacy("inst", &own_pid), false),
            (legacy("other", &own_pid), false),
            (legacy("other", ""), true),
        ] {
            let c = claim(&labels, &me);
            assert_eq!(remove_foreign(&c, Phase::Start, None), remove, "{labels:?}");
            assert!(!remove_foreign(&c, Phase::Janitor, None), "{labels:?}");
        }
    }

    #[tokio::test]
    async fn the_default_oracle_looks_up_pids_in_its_own_namespace_only() {
        let mut owner = Owner {
            node: "b".into(),
            boot: "b1".into(),
            instance: "x".into(),
            pid: Some(4_194_304),
            pidns: Some(pid_namespace()),
        };
        assert_eq!(LocalProcessLiveness.alive(&owner).await, Some(false));
        owner.pid = Some(1);
        assert_eq!(LocalProcessLiveness.alive(&owner).await, Some(true));
        owner.pid = Some(4_194_304);
        owner.pidns = Some("another-kernel/pid:[1]".into());
        assert_eq!(LocalProcessLiveness.alive(&owner).await, None);
        // Labels from before the namespace label: the pid as today.
        owner.pidns = None;
        assert_eq!(LocalProcessLiveness.alive(&owner).await, Some(false));
    }

    #[test]
    fn boot_ids_differ_per_start() {
        let a = Identity::new("n", "i");
        let b = Identity::new("n", "i");
        assert_ne!(a.boot, b.boot);
        assert!(a.owns(&a.labels("python")));
        assert!(!b.owns(&a.labels("python")));
    }
}
