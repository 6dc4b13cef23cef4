//! Engines sharing a Docker daemon: each keeps its hands off the other's live containers, and
//! a survivor removes the containers of one that died, once the owner-liveness oracle says so.

mod common;

use common::{containers_of, run, wait_until};
use pool::{Engine, Owner, OwnerLiveness};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a heartbeat table would say, set by the test: node id → alive.
#[derive(Default)]
struct Heartbeats(Mutex<HashMap<String, bool>>);

impl Heartbeats {
    fn set(&self, node: &str, alive: bool) {
        self.0.lock().unwrap().insert(node.to_string(), alive);
    }
}

#[pool::async_trait]
impl OwnerLiveness for Heartbeats {
    async fn alive(&self, owner: &Owner) -> Option<bool> {
        self.0.lock().unwrap().get(&owner.node).copied()
    }
}

async fn start(instance: &str, node: &str, oracle: Arc<Heartbeats>) -> Engine {
    let mut config = common::config(instance);
    config.node_id = node.to_string();
    config.janitor_interval_ms = 1_000;
    let engine = Engine::start_with(
        config,
        common::catalog(&[("python", 1)]),
        &prometheus::Registry::new(),
        oracle,
    )
    .await
    .expect("engine starts");
    common::wait_ready(&engine).await;
    engine
}

#[test]
fn a_dead_engines_containers_go_and_a_live_ones_stay() {
    let oracle = Arc::new(Heartbeats::default());
    let (survivor_instance, doomed_instance) = (
        common::instance("ownership-survivor"),
        common::instance("ownership-doomed"),
    );
    let (survivor_node, doomed_node) = (
        format!("{survivor_instance}-node"),
        format!("{doomed_instance}-node"),
    );
    oracle.set(&survivor_node, true);
    oracle.set(&doomed_node, true);
    // The doomed engine on a runtime of its own: dropping that runtime stops all its tasks at
    // once and leaves its containers behind, as a crashed process would.
    let doomed_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let doomed = doomed_rt.block_on(start(&doomed_instance, &doomed_node, oracle.clone()));
    assert_eq!(doomed.node_id(), doomed_node);
    let (survivor, doomed_left, survivor_own) = run(async {
        let survivor = start(&survivor_instance, &survivor_node, oracle.clone()).await;
        let docker = pool::connect_docker().await.unwrap();
        let doomed_own = containers_of(&docker, &doomed_instance).await;
        assert!(!doomed_own.is_empty());
        // Several janitor rounds of both while both live: neither touches the other's.
        tokio::time::sleep(Duration::from_millis(3_500)).await;
        let now = containers_of(&docker, &doomed_instance).await;
        assert_eq!(
            now, doomed_own,
            "the survivor removed a live engine's containers"
        );
        let survivor_own = containers_of(&docker, &survivor_instance).await;
        assert!(!survivor_own.is_empty());
        (survivor, doomed_own, survivor_own)
    });
    drop(doomed);
    doomed_rt.shutdown_background();
    run(async {
        let docker = pool::connect_docker().await.unwrap();
        // Dead, but not declared so yet: its containers stay.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let still = containers_of(&docker, &doomed_instance).await;
        assert!(
            doomed_left.iter().all(|id| still.contains(id)),
            "removed before the oracle said the engine is dead: {doomed_left:?} → {still:?}"
        );
        oracle.set(&doomed_node, false);
        let declared = Instant::now();
        wait_until("the dead engine's containers are removed", || async {
            containers_of(&docker, &doomed_instance).await.is_empty()
        })
        .await;
        assert!(
            declared.elapsed() < Duration::from_secs(60),
            "removed only after {:?}",
            declared.elapsed()
        );
        assert_eq!(
            containers_of(&docker, &survivor_instance).await,
            survivor_own,
            "the survivor's own containers stay"
        );
        survivor.shutdown().await;
    });
}
