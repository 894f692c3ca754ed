//! A resource whose every callback does what the test scripts.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::super::{Health, Resource};
use crate::UserError;

/// What a callback does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Behaviour {
    Ok,
    Retryable,
    Fatal,
    /// Succeeds after 50 ms: slower than nothing, faster than any timeout.
    Slow,
    /// Never returns.
    Never,
    Panic,
}

impl Behaviour {
    pub(super) const ALL: [Behaviour; 6] = [
        Behaviour::Ok,
        Behaviour::Retryable,
        Behaviour::Fatal,
        Behaviour::Slow,
        Behaviour::Never,
        Behaviour::Panic,
    ];

    async fn run<T>(self, ok: T, what: &str) -> Result<T, UserError> {
        match self {
            Behaviour::Ok => Ok(ok),
            Behaviour::Slow => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(ok)
            }
            Behaviour::Retryable => Err(UserError::msg(format!("{what}: retryable"))),
            Behaviour::Fatal => Err(UserError::msg(format!("{what}: fatal"))),
            Behaviour::Never => std::future::pending().await,
            Behaviour::Panic => panic!("{what} panicked"),
        }
    }
}

#[derive(Debug)]
pub(super) struct Scripted {
    script: Mutex<Script>,
    pub(super) inits: AtomicU32,
    pub(super) checks: AtomicU32,
    pub(super) cleanups: AtomicU32,
    running_checks: AtomicU32,
    pub(super) max_concurrent_checks: AtomicU32,
}

#[derive(Debug)]
struct Script {
    init: Behaviour,
    check: Behaviour,
    cleanup: Behaviour,
    failing_first_inits: u32,
}

impl Scripted {
    pub(super) fn new(init: Behaviour, check: Behaviour, cleanup: Behaviour) -> Arc<Self> {
        Arc::new(Self {
            script: Mutex::new(Script {
                init,
                check,
                cleanup,
                failing_first_inits: 0,
            }),
            inits: AtomicU32::new(0),
            checks: AtomicU32::new(0),
            cleanups: AtomicU32::new(0),
            running_checks: AtomicU32::new(0),
            max_concurrent_checks: AtomicU32::new(0),
        })
    }

    pub(super) fn failing_first_inits(self: Arc<Self>, n: u32) -> Arc<Self> {
        self.script.lock().unwrap().failing_first_inits = n;
        self
    }

    pub(super) fn set_init(&self, behaviour: Behaviour) {
        self.script.lock().unwrap().init = behaviour;
    }

    pub(super) fn set_check(&self, behaviour: Behaviour) {
        self.script.lock().unwrap().check = behaviour;
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap()
    }
}

/// Counts a running check for as long as it lives, cancelled or not.
struct Running<'a>(&'a AtomicU32);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Resource for Scripted {
    async fn initialize(&self) -> Result<(), UserError> {
        let n = self.inits.fetch_add(1, Ordering::SeqCst);
        let behaviour = {
            let script = self.script();
            if n < script.failing_first_inits {
                Behaviour::Retryable
            } else {
                script.init
            }
        };
        behaviour.run((), "initialize").await
    }

    async fn cleanup(&self) -> Result<(), UserError> {
        self.cleanups.fetch_add(1, Ordering::SeqCst);
        let behaviour = self.script().cleanup;
        behaviour.run((), "cleanup").await
    }

    async fn check_health(&self) -> Result<Health, UserError> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        let now = self.running_checks.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_concurrent_checks.fetch_max(now, Ordering::SeqCst);
        let _running = Running(&self.running_checks);
        let behaviour = self.script().check;
        behaviour.run(Health::Healthy, "check").await
    }

    fn is_retryable(&self, error: &UserError) -> bool {
        !error.to_string().ends_with("fatal")
    }
}
