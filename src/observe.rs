//! The observation endpoint: `/metrics`, `/status` and a live dashboard,
//! served over HTTP by actix-web on steward's own actix System.
//!
//! | path | what it serves |
//! |---|---|
//! | `/metrics` | every steward metric in Prometheus's text format (the table is in [`steward_actors::observe`]) |
//! | `/status` | [`StewardStatus`](crate::StewardStatus) as JSON |
//! | `/` | a self-contained dashboard page that polls `/status` every second |
//!
//! Started by [`StewardBuilder::observe`](crate::StewardBuilder::observe)
//! or [`Steward::observe`], stopped first by
//! [`Steward::shutdown`](crate::Steward::shutdown).
//!
//! # Safe by default
//!
//! The figures tell much about a machine and a program (its pools, its
//! disks, its child processes), and the endpoint has no authentication,
//! so it binds a loopback address unless told otherwise: a scraper on the
//! same host, an SSH tunnel or a reverse proxy with its own access control
//! reaches it, nothing else does. An address that is not loopback is
//! refused with [`ObserveError::NotLoopback`] unless the caller opts in
//! ([`StewardBuilder::observe_public`](crate::StewardBuilder::observe_public),
//! [`Steward::observe_public`], `--serve-public`).
//!
//! Whatever the address, the endpoint is read-only and bounded:
//!
//! - only `GET` and `HEAD`, else `405 Method Not Allowed`; no endpoint
//!   changes anything, and no file is ever served;
//! - no request body (`413 Payload Too Large`), at most
//!   [`MAX_HEADERS`] headers (`431 Request Header Fields Too Large`), a
//!   request head of at most 128 KiB (actix-web's bound, `431`);
//! - at most [`MAX_CONNECTIONS`] connections at once, the rest wait in a
//!   backlog of [`BACKLOG`]; a connection that sends no complete request
//!   head within [`REQUEST_TIMEOUT`] is closed (`408`), an idle keep-alive
//!   one after [`KEEP_ALIVE`];
//! - unknown paths get `404 Not Found`.
//!
//! # Metrics
//!
//! `/metrics` needs steward's Prometheus recorder to be the `metrics`
//! facade's global recorder; the first endpoint installs it. A program
//! that installed a recorder of its own gets [`ObserveError::RecorderTaken`]:
//! it can still call [`Steward::record_metrics`] and export the figures
//! its own way.

mod dashboard;
mod recorder;
mod server;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::dev::ServerHandle;

use crate::{Error, Steward};

/// Connections the endpoint serves at once; more wait in the backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// Connections the kernel queues for the endpoint beyond those served.
pub const BACKLOG: u32 = 256;
/// Headers a request may carry.
pub const MAX_HEADERS: usize = 32;
/// How long a new connection has to send a complete request head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an idle keep-alive connection stays open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// Why the endpoint could not start.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ObserveError {
    /// The address is not a loopback address, and serving it was not
    /// asked for explicitly.
    #[error(
        "{addr} is not a loopback address: the endpoint has no authentication, so serving beyond this host must be asked for (observe_public, --serve-public)"
    )]
    NotLoopback {
        /// The refused address.
        addr: SocketAddr,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// Another `metrics` recorder is installed, so steward's Prometheus
    /// recorder cannot be, and `/metrics` would have nothing to render.
    #[error("another metrics recorder is installed; /metrics needs steward's own")]
    RecorderTaken,
    /// The Prometheus recorder could not be built.
    #[error("cannot build the Prometheus recorder: {0}")]
    Recorder(String),
    /// Steward is shut down.
    #[error("steward is shut down")]
    ShutDown,
}

/// A running endpoint.
#[derive(Debug)]
struct Endpoint {
    addr: SocketAddr,
    server: ServerHandle,
}

/// Every endpoint a steward serves; closed for good by the first stop.
#[derive(Debug, Clone, Default)]
pub(crate) struct Endpoints(Arc<Mutex<Running>>);

#[derive(Debug, Default)]
struct Running {
    closed: bool,
    endpoints: Vec<Endpoint>,
}

impl Endpoints {
    fn lock(&self) -> std::sync::MutexGuard<'_, Running> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a started endpoint, or hands it back once stopping has begun
    /// (a start that raced a shutdown).
    fn add(&self, endpoint: Endpoint) -> Result<(), Endpoint> {
        let mut running = self.lock();
        if running.closed {
            return Err(endpoint);
        }
        running.endpoints.push(endpoint);
        Ok(())
    }

    fn addrs(&self) -> Vec<SocketAddr> {
        self.lock()
            .endpoints
            .iter()
            .map(|endpoint| endpoint.addr)
            .collect()
    }

    /// Stops every endpoint and admits no new one: in-flight requests get
    /// up to a second, the whole at most `budget`.
    pub(crate) async fn stop_all(&self, budget: Duration) {
        let endpoints = {
            let mut running = self.lock();
            running.closed = true;
            std::mem::take(&mut running.endpoints)
        };
        if endpoints.is_empty() {
            return;
        }
        let stops = endpoints.iter().map(|endpoint| endpoint.server.stop(true));
        if tokio::time::timeout(budget, futures::future::join_all(stops))
            .await
            .is_err()
        {
            tracing::warn!(target: "steward::observe", "the endpoint did not stop in its share of the shutdown budget");
        }
        for endpoint in &endpoints {
            tracing::info!(target: "steward::observe", addr = %endpoint.addr, "endpoint stopped");
        }
    }
}

/// Whether an endpoint may listen on `addr`.
pub(crate) fn check_exposure(addr: SocketAddr, public: bool) -> Result<(), ObserveError> {
    if public || addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(ObserveError::NotLoopback { addr })
    }
}

impl Steward {
    /// Serves `/metrics`, `/status` and the dashboard on `addr`, a
    /// loopback address (port 0 picks a free port); returns the address
    /// bound. See [`observe`](crate::observe) for what is served and the
    /// bounds.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), steward::Error> {
    /// let steward = steward::Steward::builder().start()?;
    /// let addr = steward.observe(([127, 0, 0, 1], 0)).await?;
    /// assert!(addr.ip().is_loopback() && addr.port() != 0);
    /// assert_eq!(steward.observed_addrs(), [addr]);
    /// steward.shutdown().await?;
    /// assert!(steward.observed_addrs().is_empty());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Observe`] with [`ObserveError::NotLoopback`] for another
    /// address, [`ObserveError::Bind`] when it cannot be bound,
    /// [`ObserveError::RecorderTaken`] when the program installed a
    /// `metrics` recorder of its own, [`ObserveError::ShutDown`] after
    /// shutdown.
    ///
    /// # Cancel safety
    ///
    /// It does not wait: the endpoint is running (or refused) when the
    /// future first completes.
    pub async fn observe(&self, addr: impl Into<SocketAddr>) -> Result<SocketAddr, Error> {
        self.start_endpoint(addr.into(), false)
    }

    /// [`observe`](Self::observe) on any address, loopback or not: for a
    /// Prometheus on another host, when the network between them is
    /// trusted or a firewall keeps others out. The endpoint has no
    /// authentication.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), steward::Error> {
    /// let steward = steward::Steward::builder().start()?;
    /// // A wildcard address is refused by `observe`, served here.
    /// assert!(steward.observe(([0, 0, 0, 0], 0)).await.is_err());
    /// let addr = steward.observe_public(([0, 0, 0, 0], 0)).await?;
    /// assert!(addr.ip().is_unspecified());
    /// steward.shutdown().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`observe`](Self::observe), never [`ObserveError::NotLoopback`].
    ///
    /// # Cancel safety
    ///
    /// As [`observe`](Self::observe).
    pub async fn observe_public(&self, addr: impl Into<SocketAddr>) -> Result<SocketAddr, Error> {
        self.start_endpoint(addr.into(), true)
    }

    /// The addresses of the running endpoints, in the order they started.
    #[must_use]
    pub fn observed_addrs(&self) -> Vec<SocketAddr> {
        self.actors().endpoints.addrs()
    }

    /// Binds `addr` and starts serving on steward's arbiter. Synchronous
    /// (binding is), so the builder can call it from inside the System.
    pub(crate) fn start_endpoint(
        &self,
        addr: SocketAddr,
        public: bool,
    ) -> Result<SocketAddr, Error> {
        check_exposure(addr, public)?;
        if self.is_shut_down() || self.actors().endpoints.lock().closed {
            return Err(ObserveError::ShutDown.into());
        }
        let prometheus = recorder::handle()?;
        let (bound, server) = server::start(self.actors().clone(), prometheus, addr)?;
        let handle = server.handle();
        self.arbiter().spawn(async move {
            if let Err(err) = server.await {
                tracing::error!(target: "steward::observe", %err, "the endpoint failed");
            }
        });
        let endpoint = Endpoint {
            addr: bound,
            server: handle,
        };
        if let Err(late) = self.actors().endpoints.add(endpoint) {
            // Shutdown began meanwhile: this one stops too.
            let stopping = late.server.stop(false);
            self.arbiter().spawn(stopping);
            return Err(ObserveError::ShutDown.into());
        }
        tracing::info!(target: "steward::observe", addr = %bound, "serving /metrics, /status and the dashboard");
        Ok(bound)
    }
}
