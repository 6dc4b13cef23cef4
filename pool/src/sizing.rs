//! How big a language's pool should be: the warm target that follows its traffic, and the
//! default container budget that follows the host. Pure rules (no clock, no Docker), fed by
//! the refill loop (refill.rs) with what happened since its last look.
//!
//! The warm target is the number of containers (idle, leased or resetting) a pool keeps.
//! Three signals raise it, each over a sliding window `τ` (exponential weights):
//! - Little's law: arrivals per second × seconds a lease holds its container (reset
//!   included) is how many containers are busy on average; the target is that plus two
//!   standard deviations of a Poisson demand (`d + 2√d`), so that most arrivals find one idle.
//! - The peak in use: the most containers leased (plus leases waiting) lately, plus one spare,
//!   so that a pool that just served a burst keeps its size for the next one.
//! - Misses: a lease that found no idle container raises the target at once by one per miss.
//!
//! It grows at once and shrinks by one container per `shrink_every`, never below the floor
//! (the catalog's `min_idle`) nor above the language's `max` and the global budget. When
//! traffic stops, the rate and the peak decay with `τ` and the target walks down to the floor.

use std::time::Duration;

/// Below this many expected containers, none is kept for the traffic (a language used once
/// in a long while keeps only its floor).
const NEGLIGIBLE: f64 = 0.25;

/// The rule's settings for one pool.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizingRule {
    /// Containers kept whatever the traffic (the catalog's `min_idle`).
    pub floor: usize,
    /// Containers at most: the language's `max`, within the global budget.
    pub ceiling: usize,
    /// Time constant of the sliding window over arrivals, misses and the peak.
    pub window: Duration,
    /// The target steps down by one at most this often.
    pub shrink_every: Duration,
}

/// What a pool saw since the previous observation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Demand {
    /// Leases asked for.
    pub arrivals: u64,
    /// Leases that found no idle container (they waited for one to start or come back).
    pub misses: u64,
    /// Leases that ended (their container back in the pool or gone) ...
    pub holds: u64,
    /// ... and the seconds they held their container together, reset included.
    pub hold_seconds: f64,
}

/// The rule's memory for one pool; [`Sizer::observe`] moves it forward.
#[derive(Debug, Clone)]
pub struct Sizer {
    rule: SizingRule,
    /// Arrivals per second, exponentially weighted over the window.
    rate: f64,
    /// Seconds a lease holds a container, averaged over recent leases (0: none seen yet).
    hold: f64,
    /// Containers in use (plus leases waiting) at the busiest moment lately, decaying.
    peak: f64,
    target: usize,
    /// Seconds the demand has been below the target since it last held it up (or since the
    /// last step down).
    since_change: f64,
}

impl Sizer {
    /// A pool starting at its floor.
    pub fn new(rule: SizingRule) -> Sizer {
        let rule = SizingRule {
            ceiling: rule.ceiling.max(rule.floor),
            ..rule
        };
        Sizer {
            rule,
            rate: 0.0,
            hold: 0.0,
            peak: 0.0,
            target: rule.floor,
            since_change: 0.0,
        }
    }

    /// The target now.
    pub fn target(&self) -> usize {
        self.target
    }

    /// Arrivals per second as the rule sees them.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Takes in what happened over the last `elapsed`, with `in_use` containers leased (or
    /// resetting) plus leases waiting now, and returns the new target.
    pub fn observe(&mut self, elapsed: Duration, demand: Demand, in_use: usize) -> usize {
        let dt = elapsed.as_secs_f64();
        let tau = self.rule.window.as_secs_f64().max(1e-3);
        let decay = (-dt / tau).exp();
        // Arrivals fade with weight e^(-age/τ): a sliding mean rate that needs no bucket of
        // timestamps. Those of one observation count as spread over its interval, so that
        // observations at any spacing give the same rate (one at the very instant: 1/τ each).
        let fresh = if dt > 0.0 {
            demand.arrivals as f64 / dt * (1.0 - decay)
        } else {
            demand.arrivals as f64 / tau
        };
        self.rate = self.rate * decay + fresh;
        if demand.holds > 0 {
            let mean = demand.hold_seconds / demand.holds as f64;
            self.hold = if self.hold == 0.0 {
                mean
            } else {
                // Recent leases weigh more, so that a switch from short runs to long
                // interactive sessions shows within a few leases.
                0.7 * self.hold + 0.3 * mean
            };
        }
        self.peak = (self.peak * decay).max(in_use as f64);

        let busy = self.rate * self.hold;
        let by_rate = if busy < NEGLIGIBLE {
            0
        } else {
            (busy + 2.0 * busy.sqrt()).ceil() as usize
        };
        let by_peak = if self.peak < NEGLIGIBLE {
            0
        } else {
            self.peak.ceil() as usize + 1
        };
        let by_misses = if demand.misses > 0 {
            self.target + demand.misses as usize
        } else {
            0
        };
        let wanted = by_rate
            .max(by_peak)
            .max(by_misses)
            .clamp(self.rule.floor, self.rule.ceiling);

        if wanted >= self.target {
            self.target = wanted;
            self.since_change = 0.0;
        } else if self.since_change + dt < self.rule.shrink_every.as_secs_f64() {
            self.since_change += dt;
        } else {
            // One step at a time: traffic that pauses for a moment finds its pool nearly
            // whole, and a pool that is really idle reaches its floor within a few steps.
            self.target -= 1;
            self.since_change = 0.0;
        }
        self.target
    }
}

/// Memory a container is counted for when sizing the default budget: the catalog's usual
/// limit (256 MiB; compiled languages ask for more but few run at once).
pub const MEMORY_PER_CONTAINER: u64 = 256 * 1024 * 1024;
/// Containers per CPU at most by default: most containers of interactive users wait for
/// input, so many share a CPU; runs beyond that queue for the CPU anyway.
pub const CONTAINERS_PER_CPU: usize = 16;
/// The default budget never goes below this.
pub const MIN_DEFAULT_CONTAINERS: usize = 4;

/// The default `max_containers` of a host with `memory_bytes` of memory and `cpus` CPUs: as
/// many containers as half its memory holds at [`MEMORY_PER_CONTAINER`] each (the other
/// half for the host, the engine and page cache), at most [`CONTAINERS_PER_CPU`] per CPU,
/// at least [`MIN_DEFAULT_CONTAINERS`]. A 24 GiB, 2-CPU host gets min(48, 32) = 32; a
/// 64 GiB, 16-CPU one 128.
pub fn default_max_containers(memory_bytes: u64, cpus: usize) -> usize {
    let by_memory = (memory_bytes / 2 / MEMORY_PER_CONTAINER) as usize;
    let by_cpu = cpus.max(1) * CONTAINERS_PER_CPU;
    by_memory.min(by_cpu).max(MIN_DEFAULT_CONTAINERS)
}

/// [`default_max_containers`] of this host (MemTotal of /proc/meminfo, the CPUs this process
/// may use); 24 when the memory cannot be read.
pub fn host_max_containers() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    match std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| mem_total_bytes(&s))
    {
        Some(mem) => default_max_containers(mem, cpus),
        None => 24,
    }
}

/// MemTotal from the text of /proc/meminfo.
fn mem_total_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn rule(floor: usize, ceiling: usize) -> SizingRule {
        SizingRule {
            floor,
            ceiling,
            window: Duration::from_secs(10),
            shrink_every: Duration::from_secs(5),
        }
    }

    /// `seconds` of one observation a second with `per_second` arrivals each holding its
    /// container `hold` seconds, `in_use` busy.
    fn feed(s: &mut Sizer, seconds: u32, per_second: u64, hold: f64, in_use: usize) -> usize {
        for _ in 0..seconds {
            let demand = Demand {
                arrivals: per_second,
                misses: 0,
                holds: per_second,
                hold_seconds: hold * per_second as f64,
            };
            s.observe(SEC, demand, in_use);
        }
        s.target()
    }

    #[test]
    fn starts_at_the_floor_and_stays_there_without_traffic() {
        let mut s = Sizer::new(rule(1, 8));
        assert_eq!(s.target(), 1);
        assert_eq!(feed(&mut s, 120, 0, 0.0, 0), 1);
    }

    #[test]
    fn steady_traffic_sets_littles_law_plus_headroom() {
        // 10 leases/s held 0.3 s each: 3 busy on average, 3 + 2√3 = 6.46 → 7.
        let mut s = Sizer::new(rule(1, 16));
        assert_eq!(feed(&mut s, 100, 10, 0.3, 3), 7);
        // Long holds (interactive sessions) need many more containers for the same rate.
        let mut s = Sizer::new(rule(1, 64));
        assert_eq!(feed(&mut s, 200, 1, 10.0, 10), 17);
    }

    #[test]
    fn the_target_stays_within_floor_and_ceiling() {
        let mut s = Sizer::new(rule(2, 4));
        assert_eq!(feed(&mut s, 60, 50, 1.0, 40), 4);
        assert_eq!(feed(&mut s, 600, 0, 0.0, 0), 2);
        // A floor above the ceiling wins (the catalog checks min_idle <= max anyway).
        let mut s = Sizer::new(rule(3, 1));
        assert_eq!(s.target(), 3);
        assert_eq!(feed(&mut s, 30, 20, 1.0, 20), 3);
    }

    #[test]
    fn misses_raise_the_target_at_once() {
        let mut s = Sizer::new(rule(1, 10));
        let burst = Demand {
            arrivals: 4,
            misses: 3,
            ..Demand::default()
        };
        // No hold time known yet: the misses and the peak alone size it.
        let t = s.observe(Duration::from_millis(10), burst, 4);
        assert!(t >= 5, "4 in use plus a spare, got {t}");
        assert!(s.observe(Duration::from_millis(10), burst, 4) >= 8);
    }

    #[test]
    fn a_rising_rate_grows_the_pool_before_it_is_all_in_use() {
        // Created ahead: from the arrivals alone, while only one container is in use.
        let mut s = Sizer::new(rule(0, 16));
        let t = feed(&mut s, 20, 20, 0.2, 1);
        assert!(t >= 5, "got {t}");
    }

    #[test]
    fn it_shrinks_one_step_per_interval_down_to_the_floor_after_traffic_stops() {
        let mut s = Sizer::new(rule(1, 12));
        let high = feed(&mut s, 60, 20, 0.4, 8);
        assert_eq!(high, 12);
        // Right after the traffic stops the pool keeps its size (a pause is not the end).
        assert_eq!(feed(&mut s, 4, 0, 0.0, 0), 12);
        // Then it steps down: never more than one step per 5 s.
        let mut last = 12;
        for _ in 0..200 {
            let t = feed(&mut s, 1, 0, 0.0, 0);
            assert!(last - t <= 1 && t <= last, "{last} -> {t}");
            last = t;
        }
        assert_eq!(last, 1);
        // And comes back at once.
        assert!(feed(&mut s, 5, 20, 0.4, 8) >= 9);
    }

    #[test]
    fn observations_at_any_spacing_give_the_same_rate() {
        let mut fine = Sizer::new(rule(0, 100));
        let mut coarse = Sizer::new(rule(0, 100));
        for _ in 0..1000 {
            fine.observe(
                Duration::from_millis(10),
                Demand {
                    arrivals: 1,
                    ..Default::default()
                },
                0,
            );
        }
        for _ in 0..10 {
            coarse.observe(
                SEC,
                Demand {
                    arrivals: 100,
                    ..Default::default()
                },
                0,
            );
        }
        assert!((fine.rate() - coarse.rate()).abs() / coarse.rate() < 0.01);
        // 100/s for 10 s with τ = 10 s: 1 - 1/e of the way there.
        assert!((coarse.rate() - 100.0 * (1.0 - (-1f64).exp())).abs() < 0.01);
    }

    #[test]
    fn the_default_budget_follows_memory_and_cpus() {
        const GIB: u64 = 1024 * 1024 * 1024;
        // The host: 24 GiB used to get 24 containers whatever its CPUs.
        assert_eq!(default_max_containers(24 * GIB, 2), 32);
        assert_eq!(default_max_containers(24 * GIB, 8), 48);
        assert_eq!(default_max_containers(64 * GIB, 16), 128);
        assert_eq!(default_max_containers(2 * GIB, 1), 4);
        assert_eq!(default_max_containers(0, 0), MIN_DEFAULT_CONTAINERS);
        let meminfo = "MemTotal:       24683656 kB\nMemFree:        16311024 kB\n";
        assert_eq!(mem_total_bytes(meminfo), Some(24683656 * 1024));
        assert_eq!(mem_total_bytes("nonsense"), None);
        assert!(host_max_containers() >= MIN_DEFAULT_CONTAINERS);
    }
}
