//! Behaviour through the facade, in one test binary (one link on 2 cores).

mod annotations;
mod bounds;
mod cli_checksum;
mod cli_config;
mod cli_monitor;
mod cli_output;
mod cli_run;
mod cli_support;
mod drive;
mod monitor;
#[cfg(feature = "observe")]
mod observe;
mod poll;
mod pool;
mod reconnect;
mod registry;
mod start_contexts;
mod subprocess_pool;
mod supervision;
mod tracker;
