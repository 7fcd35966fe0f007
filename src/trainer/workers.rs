//! How a training run's threads are scheduled: the CPU kernels' workers kept awake, and the
//! run under Linux's batch policy.
//!
//! A training step of a small network calls the parallel kernels four times, each for a few
//! hundred microseconds, with Burn's own (serial) work in between. Rayon puts idle workers to
//! sleep within tens of microseconds, and waking one costs about as much as the work it is woken
//! for on a virtual machine: measured on the 2-core development machine, a 117 us job split over
//! two threads took 117 to 122 us when the helper had slept through a 200 us gap, 65 us when it
//! had not. So [`run_with_awake_workers`] runs the training on a pool whose other workers wait
//! for work spinning, not sleeping, until the training returns.
//!
//! The training thread also hands every step's metrics to Burn's event threads, and on Linux
//! each such wake-up used to preempt it: the woken thread ran on the training thread's core at
//! once, while the training thread waited in the run queue (up to about 10 % of a run's wall
//! time on the development machine, most of it in a terminal, where that thread also draws the
//! progress bar). [`run_as_batch`] runs the training under `SCHED_BATCH`, the policy
//! Linux provides for such non-interactive work: a woken batch thread waits for the next
//! scheduling point instead of preempting.

use std::ffi::OsStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Environment variable that turns both measures off: set to anything but empty or `0`,
/// training runs on the caller's thread and rayon's usual pool, under the thread's own
/// scheduling policy. For machines that share their cores with other work (a spinning worker
/// keeps a core busy for the whole training) or that need their scheduling left alone.
pub const PLAIN_SCHEDULING_ENV: &str = "DELGRAD_PLAIN_SCHEDULING";

/// Whether [`PLAIN_SCHEDULING_ENV`] asks for plain scheduling.
pub(crate) fn plain_scheduling() -> bool {
    plain_scheduling_from(std::env::var_os(PLAIN_SCHEDULING_ENV).as_deref())
}

fn plain_scheduling_from(value: Option<&OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0")
}

/// Runs `f` with the calling thread under Linux's `SCHED_BATCH` scheduling policy, which every
/// thread it starts meanwhile inherits (the kernels' pool, Burn's event and checkpoint threads,
/// the file writer), then restores the thread's policy. Only a thread under the default policy
/// (`SCHED_OTHER`) is switched; real-time and idle policies, and systems without the policy,
/// run `f` unchanged. Scheduling decides only when threads run, never what they compute.
pub(crate) fn run_as_batch<R>(f: impl FnOnce() -> R) -> R {
    let _restore = batch_policy::enter();
    f()
}

#[cfg(target_os = "linux")]
mod batch_policy {
    /// Puts the calling thread back under the policy it had, if [`enter`] changed it.
    pub(super) struct Restore(Option<libc::c_int>);

    /// The calling thread's scheduling policy (`-1` if it cannot be read).
    pub(super) fn current() -> libc::c_int {
        // SAFETY: plain system call on the calling thread (pid 0), no pointers.
        unsafe { libc::sched_getscheduler(0) }
    }

    pub(super) fn set(policy: libc::c_int) -> bool {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` outlives the call; pid 0 is the calling thread. Switching between
        // SCHED_OTHER and SCHED_BATCH (priority 0) needs no privilege.
        unsafe { libc::sched_setscheduler(0, policy, &param) == 0 }
    }

    pub(super) fn enter() -> Restore {
        let before = current();
        if before == libc::SCHED_OTHER && set(libc::SCHED_BATCH) {
            Restore(Some(before))
        } else {
            Restore(None)
        }
    }

    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(policy) = self.0 {
                set(policy);
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod batch_policy {
    pub(super) struct Restore;

    pub(super) fn enter() -> Restore {
        Restore
    }
}

/// Idle probes between two `sched_yield`s of a spinning worker, so that other threads on its
/// core (Burn's metric logger, the progress bar) still get their turn.
const PROBES_PER_OS_YIELD: u32 = 64;

/// Runs `f` on a fresh rayon pool of the current pool's size (`RAYON_NUM_THREADS` or one per
/// core), as one of its workers, while the pool's other workers spin for work. The calling thread
/// then takes part in every parallel kernel instead of handing it off and sleeping.
///
/// Called from inside a rayon pool (a sweep running several trainings on their own pools, or a
/// caller's pool), `f` runs in place: that pool's threads may have other work, which spinning
/// workers would starve.
pub(crate) fn run_with_awake_workers<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    run_counting_spinners(f, Arc::new(AtomicUsize::new(0)))
}

/// [`run_with_awake_workers`], counting the workers that are spinning in `spinning`.
fn run_counting_spinners<R: Send>(f: impl FnOnce() -> R + Send, spinning: Arc<AtomicUsize>) -> R {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    let Ok(pool) = rayon::ThreadPoolBuilder::new()
        .num_threads(rayon::current_num_threads())
        .thread_name(|i| format!("delgrad-kernel-{i}"))
        .build()
    else {
        return f();
    };
    pool.install(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let _stop_on_return = StopOnDrop(stop.clone());
        let caller = rayon::current_thread_index();
        rayon::spawn_broadcast(move |ctx| {
            if Some(ctx.index()) != caller {
                spinning.fetch_add(1, Ordering::SeqCst);
                spin_for_work(&stop);
                spinning.fetch_sub(1, Ordering::SeqCst);
            }
        });
        f()
    })
}

/// Executes the pool's pending jobs as they come until `stop` is set.
fn spin_for_work(stop: &AtomicBool) {
    let mut idle = 0u32;
    while !stop.load(Ordering::Relaxed) {
        if let Some(rayon::Yield::Executed) = rayon::yield_now() {
            idle = 0;
            continue;
        }
        idle = idle.wrapping_add(1);
        if idle.is_multiple_of(PROBES_PER_OS_YIELD) {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Sets the flag when dropped, also when the training panics.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn plain_scheduling_is_asked_for_by_any_value_but_empty_or_zero() {
        assert!(!plain_scheduling_from(None));
        assert!(!plain_scheduling_from(Some(OsStr::new(""))));
        assert!(!plain_scheduling_from(Some(OsStr::new("0"))));
        assert!(plain_scheduling_from(Some(OsStr::new("1"))));
        assert!(plain_scheduling_from(Some(OsStr::new("yes"))));
    }

    #[test]
    fn runs_the_work_and_stops_the_spinning_workers() {
        // Outside any pool, the closure runs on a fresh pool of the global pool's size, every
        // worker of which but the caller spins until the closure returns.
        let spinning = Arc::new(AtomicUsize::new(0));
        let handle = {
            let spinning = spinning.clone();
            std::thread::spawn(move || {
                run_counting_spinners(
                    || {
                        let sum: u64 = (0..100_000u64).into_par_iter().sum();
                        let start = std::time::Instant::now();
                        while spinning.load(Ordering::SeqCst) + 1 < rayon::current_num_threads()
                            && start.elapsed().as_secs() < 10
                        {
                            std::thread::yield_now();
                        }
                        (
                            sum,
                            spinning.load(Ordering::SeqCst),
                            rayon::current_num_threads(),
                        )
                    },
                    spinning.clone(),
                )
            })
        };
        let (sum, during, threads) = handle.join().unwrap();
        assert_eq!(sum, 100_000 * 99_999 / 2);
        assert_eq!(during, threads - 1, "every worker but the caller spins");
        let start = std::time::Instant::now();
        while spinning.load(Ordering::SeqCst) > 0 && start.elapsed().as_secs() < 10 {
            std::thread::yield_now();
        }
        assert_eq!(
            spinning.load(Ordering::SeqCst),
            0,
            "the spinning workers stop"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn batch_policy_holds_for_the_run_and_its_threads_then_is_restored() {
        // Whether this system lets a thread switch itself to the batch policy (a sandbox might
        // not), probed on a thread of its own.
        let permitted = std::thread::spawn(|| {
            batch_policy::current() == libc::SCHED_OTHER && batch_policy::set(libc::SCHED_BATCH)
        })
        .join()
        .unwrap();
        std::thread::spawn(move || {
            let before = batch_policy::current();
            let (inside, spawned) = run_as_batch(|| {
                let spawned = std::thread::spawn(batch_policy::current).join().unwrap();
                (batch_policy::current(), spawned)
            });
            if before == libc::SCHED_OTHER && permitted {
                assert_eq!(
                    inside,
                    libc::SCHED_BATCH,
                    "the calling thread runs as batch"
                );
                assert_eq!(
                    spawned,
                    libc::SCHED_BATCH,
                    "threads it starts inherit the policy"
                );
            } else {
                assert_eq!(
                    inside, before,
                    "other policies, or none permitted: left alone"
                );
            }
            assert_eq!(batch_policy::current(), before, "the policy is restored");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn runs_in_place_inside_a_pool() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let (index, inner) = pool.install(|| {
            let outer = rayon::current_thread_index();
            (outer, run_with_awake_workers(rayon::current_thread_index))
        });
        assert_eq!(index, inner);
    }
}
