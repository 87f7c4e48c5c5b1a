//! The integration tests, in one binary so that two cores link the application once instead of
//! once per file. Each module is one concern; `cargo test --test it <module>::` runs one of them,
//! e.g. `cargo test --test it seeds::` or `cargo test --test it browser::`.

#[macro_use]
mod common;

mod access;
mod api;
mod browser;
mod bulk;
mod bulk_kill;
mod cli;
mod concurrency;
mod contracts;
mod credentials;
mod escalation;
mod faults;
mod hostile;
mod leaks;
mod nodes;
mod openapi;
mod reports;
mod schema;
mod seeds;
mod ui;
