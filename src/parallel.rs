//! Mixed async + CPU fan-out: [`parallel!`](crate::parallel) and
//! [`try_parallel!`](crate::try_parallel).
//!
//! Both run futures and CPU closures concurrently in the calling task and
//! return their results in order, each with its own type, like
//! `tokio::join!`. An element is either a future, or `cpu => closure` for
//! a closure to run on the CPU pool named first. They expand to an
//! `.await`, so they are used inside async code.
//!
//! `try_parallel!` returns at the first error and drops the rest: a CPU
//! job still queued is then skipped, not run for nothing.

/// Runs futures and CPU closures concurrently and collects every result.
///
/// A future's output is returned as it is; a CPU closure's as
/// `Result<T, CpuError>`.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), steward::Error> {
/// let steward = steward::Steward::builder().start()?;
/// let (text, digits, words) = steward::parallel!(steward.cpu();
///     async { "forty two".to_owned() },
///     cpu => || (1..=10_u64).product::<u64>().to_string().len(),
///     async { 2 },
/// );
/// assert_eq!((text.as_str(), digits?, words), ("forty two", 7, 2));
/// # steward.shutdown().await?;
/// # Ok(())
/// # }
/// ```
#[macro_export]
macro_rules! parallel {
    ($cpu:expr; $($elements:tt)*) => {
        $crate::__parallel_munch!(join, __steward_cpu, $cpu, [] $($elements)*)
    };
}

/// Runs futures and CPU closures concurrently; the first error drops the
/// rest and is returned.
///
/// Every future outputs `Result<T, E>` with `E: Into<steward::Error>`
/// (steward's own errors, and [`UserError`](crate::UserError), into which
/// any error converts); the result is `Result<(T1, T2, …), steward::Error>`.
///
/// # Examples
///
/// ```
/// use steward::UserError;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), steward::Error> {
/// let steward = steward::Steward::builder().start()?;
/// let (port, hash) = steward::try_parallel!(steward.cpu();
///     async { "8080".parse::<u16>().map_err(UserError::from) },
///     cpu => || "payload".bytes().fold(0_u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))),
/// )?;
/// assert_eq!(port, 8080);
/// # let _ = hash;
///
/// let failed = steward::try_parallel!(steward.cpu();
///     async { "port".parse::<u16>().map_err(UserError::from) },
///     cpu => || 1,
/// );
/// assert!(matches!(failed, Err(steward::Error::User(_))));
/// # steward.shutdown().await?;
/// # Ok(())
/// # }
/// ```
#[macro_export]
macro_rules! try_parallel {
    ($cpu:expr; $($elements:tt)*) => {
        $crate::__parallel_munch!(try_join, __steward_cpu, $cpu, [] $($elements)*)
    };
}

/// Turns each element into a future, then joins them.
#[doc(hidden)]
#[macro_export]
macro_rules! __parallel_munch {
    ($mode:ident, $handle:ident, $cpu:expr, [$($done:expr,)*]) => {{
        let $handle: &$crate::Cpu = &$cpu;
        $crate::__private::tokio::$mode!($($done),*)
    }};
    ($mode:ident, $handle:ident, $cpu:expr, [$($done:expr,)*] cpu => $job:expr $(, $($rest:tt)*)?) => {
        $crate::__parallel_munch!($mode, $handle, $cpu,
            [$($done,)* $crate::__parallel_element!($mode, cpu $handle.run($job)),] $($($rest)*)?)
    };
    ($mode:ident, $handle:ident, $cpu:expr, [$($done:expr,)*] $future:expr $(, $($rest:tt)*)?) => {
        $crate::__parallel_munch!($mode, $handle, $cpu,
            [$($done,)* $crate::__parallel_element!($mode, future $future),] $($($rest)*)?)
    };
}

/// One element: as it is to collect, with its error converted to fail fast.
#[doc(hidden)]
#[macro_export]
macro_rules! __parallel_element {
    (join, $kind:ident $future:expr) => {
        $future
    };
    (try_join, $kind:ident $future:expr) => {
        async {
            $future
                .await
                .map_err(<$crate::Error as ::core::convert::From<_>>::from)
        }
    };
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use crate::{CpuError, Error, Steward, UserError};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn collects_mixed_results_in_order_with_their_own_types() {
        let steward = Steward::builder().cpu_workers(2).start().unwrap();
        let cpu = steward.cpu();
        let (a, b, c, d) = crate::parallel!(cpu;
            async { 1_u8 },
            cpu => || "two".to_owned(),
            cpu.run(|| 3_u16),
            cpu => || -> u32 { panic!("four") },
        );
        assert_eq!(a, 1);
        assert_eq!(b.unwrap(), "two");
        assert_eq!(c.unwrap(), 3);
        assert_eq!(
            d,
            Err(CpuError::Panicked {
                message: "four".into()
            }),
            "collected, not fatal"
        );
        steward.shutdown().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_first_error_drops_the_rest_and_skips_their_queued_jobs() {
        let steward = Steward::builder().cpu_workers(1).start().unwrap();
        let cpu = steward.cpu().clone();
        // Occupy the only worker so the fan-out's job waits in the queue.
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let blocker = {
            let cpu = cpu.clone();
            tokio::spawn(async move {
                cpu.run(move || blocked.recv_timeout(Duration::from_secs(30)))
                    .await
            })
        };
        let started = async {
            while cpu.stats().running == 0 {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), started)
            .await
            .expect("the blocker starts");

        let ran = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ran);
        let result = crate::try_parallel!(cpu;
            async {
                // Lets the CPU element submit its job first.
                tokio::task::yield_now().await;
                Err::<(), _>(UserError::msg("fetch failed"))
            },
            cpu => move || counter.fetch_add(1, Ordering::SeqCst),
        );
        assert!(
            matches!(&result, Err(Error::User(err)) if err.to_string() == "fetch failed"),
            "{result:?}"
        );

        release.send(()).unwrap();
        blocker.await.unwrap().unwrap().unwrap();
        cpu.run(|| ()).await.unwrap(); // FIFO: the dropped job has been picked up by now
        assert_eq!(ran.load(Ordering::SeqCst), 0, "the queued job was skipped");
        assert_eq!(cpu.stats().skipped, 1);
        steward.shutdown().await.unwrap();
    }
}
