//! The bounded pool password verifications run on, sized to the pod's
//! memory, and the allocator setting that gives their memory back.
//!
//! Each argon2 verification allocates its working memory — the hash's
//! `m` parameter, 19 MiB with the crate's defaults — for the ~tens of
//! milliseconds it runs. Unbounded, 15 concurrent wrong logins took 390 MiB
//! and the pod (256 MiB limit) was OOM-killed. Two causes, two fixes:
//!
//! - **No bound.** Verifications now run on at most [`Sizing::slots`] at once
//!   (a tokio [`Semaphore`], FIFO): the share [`MEMORY_SHARE_PERCENT`] of
//!   the memory limit divided by one verification's memory, and no more than
//!   the CPUs the process may use (more hashes at once than CPUs only adds
//!   memory, not throughput). A login waits up to `LOGIN_QUEUE_SECONDS` for a
//!   slot, then is answered 503 with `Retry-After`. The permit travels into
//!   the blocking task, so a request abandoned by its client (or by the
//!   request timeout) keeps its slot until its hash is really done.
//! - **Memory not returned.** glibc's malloc serves an allocation above its
//!   mmap threshold with `mmap` and returns it on `free` — but raises that
//!   threshold to the size of every such block freed (up to 32 MiB). After
//!   the first verification, the 19 MiB blocks came from the per-thread
//!   arenas of the blocking threads, which glibc does not hand back to the
//!   kernel: RSS grew with every burst (10 → 712 MiB after three bursts of
//!   15; with the threshold fixed, three bursts of 40 ended at 13 MiB).
//!   [`return_large_allocations`] fixes the threshold at start-up, which
//!   also turns the dynamic adjustment off, so every verification's memory
//!   is unmapped when it ends. The allocator is kept (jemalloc or mimalloc
//!   would return memory too, but as a C build and a different allocator
//!   for all the service's other work, to fix one allocation pattern).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Share of the memory limit that verifications may hold at once; the rest
/// is the service's baseline (~10 MiB), its response cache and connections.
pub const MEMORY_SHARE_PERCENT: u64 = 40;

/// The memory limit assumed when the cgroup sets none (a local run): the
/// chart's (`myhealth.toml`, api-service `memory_limit = "256Mi"`).
pub const FALLBACK_MEMORY_LIMIT: u64 = 256 << 20;

/// Allocations at least this large are `mmap`ed and unmapped when freed.
const MMAP_THRESHOLD: i32 = 1 << 20;

/// Settings of the pool, from flags or the environment.
#[derive(clap::Args, Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginSettings {
    /// Password verifications at once (default: what the memory limit and the CPUs allow)
    #[arg(long, env = "LOGIN_CONCURRENCY")]
    pub login_concurrency: Option<usize>,
    /// Longest a login waits for a free verification before it is answered 503 (0: refuse at once)
    #[arg(long, env = "LOGIN_QUEUE_SECONDS", default_value_t = 5)]
    pub login_queue_seconds: u64,
}

impl Default for LoginSettings {
    fn default() -> Self {
        LoginSettings { login_concurrency: None, login_queue_seconds: 5 }
    }
}

/// How the pool was sized, for the start-up log and the docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizing {
    /// Bytes the process may use, and where that figure came from.
    pub memory_limit: u64,
    pub memory_limit_from: &'static str,
    /// Bytes one verification allocates (the hash's `m` KiB).
    pub per_verification: u64,
    pub cpus: usize,
    pub slots: usize,
    /// Set by `LOGIN_CONCURRENCY` rather than derived.
    pub overridden: bool,
}

impl Sizing {
    /// The pool for hashes costing `m_cost_kib` each, in this process's limits.
    pub fn new(m_cost_kib: u32, settings: &LoginSettings) -> anyhow::Result<Sizing> {
        let (memory_limit, memory_limit_from) = memory_limit();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Sizing::with(memory_limit, memory_limit_from, cpus, m_cost_kib, settings.login_concurrency)
    }

    pub fn with(
        memory_limit: u64,
        memory_limit_from: &'static str,
        cpus: usize,
        m_cost_kib: u32,
        login_concurrency: Option<usize>,
    ) -> anyhow::Result<Sizing> {
        let per_verification = u64::from(m_cost_kib) * 1024;
        let budget = memory_limit / 100 * MEMORY_SHARE_PERCENT;
        anyhow::ensure!(
            per_verification <= budget,
            "API_PASSWORD_HASH costs {} MiB a verification, more than {MEMORY_SHARE_PERCENT} % of the memory limit ({} MiB, {memory_limit_from}): re-hash it with a smaller `m`",
            per_verification >> 20,
            memory_limit >> 20
        );
        let by_memory = (budget / per_verification.max(1)) as usize;
        let slots = login_concurrency.unwrap_or(by_memory.min(cpus)).max(1);
        Ok(Sizing {
            memory_limit,
            memory_limit_from,
            per_verification,
            cpus,
            slots,
            overridden: login_concurrency.is_some(),
        })
    }
}

/// The memory limit of this process's cgroup: v2 (`memory.max`), else v1
/// (`memory.limit_in_bytes`), else [`FALLBACK_MEMORY_LIMIT`]. Kubernetes
/// gives the container's limit to its cgroup; no variable carries it.
pub fn memory_limit() -> (u64, &'static str) {
    let sources = [
        ("/sys/fs/cgroup/memory.max", "cgroup v2 memory.max"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "cgroup v1 memory.limit_in_bytes"),
    ];
    for (path, from) in sources {
        // v2 writes `max` for no limit, v1 a number near 2^63.
        let limit = std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse::<u64>().ok());
        if let Some(n) = limit.filter(|n| *n < 1 << 60) {
            return (n, from);
        }
    }
    (FALLBACK_MEMORY_LIMIT, "no cgroup limit found, the chart's assumed")
}

/// At most `slots` verifications at once.
pub struct Pool {
    permits: Arc<Semaphore>,
    queue: Duration,
    pub sizing: Sizing,
}

/// Every slot stayed busy for the whole queue wait.
#[derive(Debug)]
pub struct Busy;

impl Pool {
    pub fn new(sizing: Sizing, settings: &LoginSettings) -> Pool {
        myhealth_common::metrics::gauge!("login_pool_slots").set(sizing.slots as f64);
        Pool {
            permits: Arc::new(Semaphore::new(sizing.slots)),
            queue: Duration::from_secs(settings.login_queue_seconds),
            sizing,
        }
    }

    /// Wait (FIFO) for a slot; hold the permit for as long as the work runs.
    pub async fn slot(&self) -> Result<OwnedSemaphorePermit, Busy> {
        let acquired = if self.queue.is_zero() {
            self.permits.clone().try_acquire_owned().ok()
        } else {
            tokio::time::timeout(self.queue, self.permits.clone().acquire_owned()).await.ok().and_then(Result::ok)
        };
        acquired.ok_or_else(|| {
            myhealth_common::metrics::counter!("login_pool_busy_total").increment(1);
            Busy
        })
    }

    /// Run `f` on a blocking thread in a slot.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
        let permit = self.slot().await?;
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        });
        // A panic in `f` is a bug of ours, never the client's: let it surface.
        Ok(task.await.expect("a password verification panicked"))
    }
}

/// Fix glibc's mmap threshold at 1 MiB (see the module docs): every larger
/// block — each verification's working memory — goes back to the kernel
/// when freed. Process-wide; call once at start-up.
pub fn return_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets a tunable of glibc's allocator (it takes
        // the arenas' locks itself); no memory is touched.
        let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
        if ok != 1 {
            tracing::warn!("mallopt(M_MMAP_THRESHOLD) refused: freed password-hash memory may be kept");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const MIB: u64 = 1 << 20;

    #[test]
    fn the_pool_is_sized_to_the_memory_limit_and_the_cpus() {
        // The chart's 256 MiB and argon2's default 19 MiB: 5 by memory, capped by the CPUs.
        let s = |cpus, o| Sizing::with(256 * MIB, "test", cpus, 19 * 1024, o).unwrap().slots;
        assert_eq!(s(16, None), 5);
        assert_eq!(s(2, None), 2);
        assert_eq!(s(1, None), 1);
        assert_eq!(s(2, Some(7)), 7, "LOGIN_CONCURRENCY overrides");
        assert_eq!(Sizing::with(1024 * MIB, "test", 64, 64 * 1024, None).unwrap().slots, 6);
        // A hash whose one verification does not fit is refused at start-up, not OOM-killed later.
        let e = Sizing::with(256 * MIB, "test", 2, 200 * 1024, None).unwrap_err().to_string();
        assert!(e.contains("200 MiB a verification"), "{e}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_slots_run_at_once_and_excess_waits_or_is_refused() {
        let sizing = Sizing::with(256 * MIB, "test", 2, 19 * 1024, None).unwrap();
        let pool = Arc::new(Pool::new(sizing, &LoginSettings { login_concurrency: None, login_queue_seconds: 30 }));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    pool.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(30));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().is_ok(), "every one waited for its turn");
        }
        assert_eq!(most.load(Ordering::SeqCst), 2, "never more than the slots at once");

        // No queue: with both slots held, the next is refused at once.
        let pool = Pool::new(sizing_of(2), &LoginSettings { login_concurrency: Some(2), login_queue_seconds: 0 });
        let (a, b) = (pool.slot().await.unwrap(), pool.slot().await.unwrap());
        assert!(pool.slot().await.is_err());
        drop(a);
        assert!(pool.slot().await.is_ok());
        drop(b);
    }

    fn sizing_of(slots: usize) -> Sizing {
        Sizing::with(256 * MIB, "test", 8, 19 * 1024, Some(slots)).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_request_keeps_its_slot_until_its_work_is_done() {
        let pool =
            Arc::new(Pool::new(sizing_of(1), &LoginSettings { login_concurrency: Some(1), login_queue_seconds: 0 }));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let p = pool.clone();
        let request = tokio::spawn(async move { p.run(move || rx.recv()).await });
        let started = std::time::Instant::now();
        while pool.permits.available_permits() == 1 {
            assert!(started.elapsed() < Duration::from_secs(10), "the work never took the pool's slot");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // The client goes away (as the request timeout would drop it): the work still runs.
        request.abort();
        let _ = request.await;
        assert!(pool.slot().await.is_err(), "the slot is still taken by the running verification");
        tx.send(()).unwrap();
        let mut freed = false;
        for _ in 0..200 {
            if pool.slot().await.is_ok() {
                freed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(freed, "the slot is free once the work ended");
    }
}
