//! Tether: offline case management for harm-reduction outreach.
//!
//! Layout (see the README): `domain` holds plain types and validation,
//! `store` the encrypted SQLite store, `continuity` the treatment-continuity
//! rules as pure functions, `reports` indicators and exports, `sync` bundle
//! exchange between laptops, `import` spreadsheet import, `ui` the eframe
//! window, `demo` generated data, and `cli` the command line.

pub mod cli;
pub mod clock;
pub mod continuity;
pub mod demo;
pub mod domain;
pub mod files;
pub mod import;
pub mod memory;
pub mod reports;
pub mod store;
pub mod sync;
pub mod ui;
