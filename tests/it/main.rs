//! Every integration test in one crate, so that SQLCipher and the app are
//! linked once (each file of `tests/` used to be its own binary), with
//! the shared builders and runners in `support`.

mod support;

mod attacks;
mod backup;
mod cli;
mod continuity;
mod corrections;
mod dashboard;
mod domain;
mod fuzz_regressions;
mod import;
mod reports;
mod scopes;
mod screens;
mod store;
mod sync;
mod ui;
