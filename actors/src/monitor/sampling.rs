//! The thread that takes a monitor's samples: one per monitor, named
//! `steward-monitor`, asleep between requests. It ends when the monitor
//! drops its end, after the sample in hand (a `statvfs` stuck on a dead
//! file system holds it, not an arbiter or a shared blocking pool).

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;

use tokio::sync::oneshot;

use super::error::MonitorError;
use super::sampler::{Sampled, Sampler};

type Reply = oneshot::Sender<Result<Sampled, MonitorError>>;

/// The monitor's end of its sampling thread; dropping it ends the thread.
#[derive(Debug)]
pub(crate) struct SamplingThread {
    requests: mpsc::Sender<Reply>,
    /// The thread's id (0 until it runs), for tests that watch it end.
    pub(crate) tid: Arc<AtomicI32>,
}

impl SamplingThread {
    /// Starts the thread.
    ///
    /// # Errors
    ///
    /// [`MonitorError::Sample`] when the system refuses a thread.
    pub(crate) fn spawn() -> Result<Self, MonitorError> {
        let (requests, incoming) = mpsc::channel::<Reply>();
        let tid = Arc::new(AtomicI32::new(0));
        let own_tid = Arc::clone(&tid);
        std::thread::Builder::new()
            .name("steward-monitor".to_owned())
            .spawn(move || {
                own_tid.store(nix::unistd::gettid().as_raw(), Ordering::Release);
                serve(&incoming);
            })
            .map_err(|err| MonitorError::Sample {
                message: format!("cannot start the sampling thread: {err}"),
            })?;
        Ok(Self { requests, tid })
    }

    /// Takes a sample on the thread.
    ///
    /// # Errors
    ///
    /// [`MonitorError::Sample`] if sampling panicked (inside sysinfo) or
    /// the thread is gone.
    pub(crate) fn sample(
        &self,
    ) -> impl Future<Output = Result<Sampled, MonitorError>> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let sent = self.requests.send(reply);
        async move {
            let gone = || MonitorError::Sample {
                message: "the sampling thread is gone".to_owned(),
            };
            sent.map_err(|_| gone())?;
            answer.await.map_err(|_| gone())?
        }
    }
}

fn serve(incoming: &mpsc::Receiver<Reply>) {
    let mut sampler = Sampler::new();
    while let Ok(reply) = incoming.recv() {
        let sampled = crate::sync::catch(|| sampler.sample_timed());
        let result = sampled.map_err(|message| {
            // Whatever sysinfo held may be half updated: start afresh.
            sampler = sampler.renewed();
            MonitorError::Sample { message }
        });
        // The monitor stopped waiting (it is shutting down): nothing to do.
        let _ = reply.send(result);
    }
}
