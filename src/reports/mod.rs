//! Period indicators and exports (to come).
