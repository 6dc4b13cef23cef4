//! Pools that size themselves, on real Docker: a burst of leases raises the warm target and
//! then the warm containers, and once the traffic stops the pool walks back to its floor.
//! Short windows (config) keep it to seconds.

mod common;

use common::{containers_of, run};
use pool::{Engine, LeaseKind, PoolStatus};
use std::time::Duration;

fn python(engine: &Engine) -> PoolStatus {
    engine
        .status()
        .into_iter()
        .find(|s| s.language == "python")
        .expect("python pool")
}

#[test]
fn a_burst_raises_the_warm_target_and_idle_returns_the_pool_to_its_floor() {
    run(async {
        let instance = &common::instance("autosize");
        let mut config = common::config(instance);
        config.autosize = true;
        config.autosize_window_ms = 500;
        config.autosize_shrink_ms = 200;
        // Floor 1 (common::catalog's min_idle), max 4.
        let engine = common::start_engine(config, common::catalog(&[("python", 4)])).await;
        let python_id = engine.language("python").unwrap().id.clone();
        assert_eq!(python(&engine).warm_target, 1);

        // Three leases held at once: the target rises past them (one spare) ...
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(engine.lease(&python_id, &mut |_| {}).await.unwrap());
        }
        common::wait_until("the warm target rises to 4", || async {
            python(&engine).warm_target == 4
        })
        .await;
        // ... and the pool creates up to it while all three are held.
        common::wait_until("4 warm containers, one of them idle", || async {
            let s = python(&engine);
            s.leased == 3 && s.idle == 1
        })
        .await;
        let fourth = engine.lease(&python_id, &mut |_| {}).await.unwrap();
        assert_eq!(fourth.kind, LeaseKind::Warm);
        held.push(fourth);
        assert!(containers_of(common::docker(&engine), instance).await.len() <= 4);

        // Traffic stops: the target walks down to the floor, idle containers above it go.
        let stopped = tokio::time::Instant::now();
        for lease in held {
            lease.release().await;
        }
        common::wait_until("back to the floor: target 1, one container", || async {
            let s = python(&engine);
            s.warm_target == 1
                && s.idle + s.leased + s.resetting + s.starting == 1
                && containers_of(common::docker(&engine), instance).await.len() == 1
        })
        .await;
        // Not in one jump: 3 steps at most one per 200 ms, the first one possibly at once.
        assert!(stopped.elapsed() >= Duration::from_millis(400));
        let trimmed = engine
            .metrics()
            .destroyed
            .with_label_values(&["python", "trimmed"])
            .get();
        assert!(trimmed >= 3, "trimmed {trimmed}");
        engine.shutdown().await;
    })
}
