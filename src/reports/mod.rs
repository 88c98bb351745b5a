//! Period indicators and exports: the period report of INDICATORS.md and
//! its files, the client line list, and the worklist file.

pub mod count;
pub mod linelist;
pub mod output;
pub mod period;
pub mod worklist;
