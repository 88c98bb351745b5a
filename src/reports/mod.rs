//! Period indicators and exports; for now the worklist file.

pub mod worklist;
