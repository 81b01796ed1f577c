//! The binary's wiring: the CLI ([`cli`]), what each subcommand does
//! ([`commands`]), `explain` ([`explain`]), running the service ([`serve`]: bind, spawn the tasks with their
//! channels, serve, drain), the bundled [`demo`] (its traffic in `demo_traffic`, its summary in `demo_summary`) and [`logging`]. The top layer:
//! it may use everything below; nothing below uses it.

pub mod cli;
pub mod commands;
pub mod demo;
mod demo_summary;
mod demo_traffic;
pub mod explain;
pub mod logging;
pub mod serve;
