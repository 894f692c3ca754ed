//! `--serve ADDR` and `--serve-public`: the observation endpoint for a
//! subcommand (`/metrics`, `/status`, the dashboard).

use std::net::SocketAddr;

use std::process::ExitCode;

use steward::Steward;

#[cfg(feature = "observe")]
use super::report;

/// Options of the observation endpoint, flattened into a subcommand's.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ServeArgs {
    /// Serve /metrics (Prometheus), /status (JSON) and a live dashboard
    /// at / on this address, e.g. 127.0.0.1:9185 (port 0 picks one).
    /// Loopback only unless --serve-public is given.
    #[arg(long, value_name = "ADDR")]
    pub(crate) serve: Option<SocketAddr>,
    /// Allow --serve on an address other than loopback. The endpoint has
    /// no authentication: use this only where the network is trusted.
    #[arg(long, requires = "serve")]
    pub(crate) serve_public: bool,
}

/// Starts the endpoint if asked, and says where on stderr.
#[cfg(feature = "observe")]
pub(crate) async fn start(steward: &Steward, args: &ServeArgs) -> Result<(), ExitCode> {
    let Some(addr) = args.serve else {
        return Ok(());
    };
    let started = if args.serve_public {
        steward.observe_public(addr).await
    } else {
        steward.observe(addr).await
    };
    match started {
        Ok(bound) => {
            super::stderr!(
                "steward: serving http://{bound}/ (metrics at /metrics, status at /status)"
            );
            Ok(())
        }
        Err(error) => Err(report(&error)),
    }
}

/// Refuses `--serve`: this build has no endpoint.
#[cfg(not(feature = "observe"))]
pub(crate) async fn start(_steward: &Steward, args: &ServeArgs) -> Result<(), ExitCode> {
    match args.serve {
        None => Ok(()),
        Some(_) => {
            let _ = args.serve_public;
            super::stderr!("steward: --serve needs steward built with the `observe` feature");
            Err(ExitCode::from(super::EXIT_USAGE))
        }
    }
}
