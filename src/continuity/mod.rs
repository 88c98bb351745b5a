//! Continuity rules for methadone and ARV, as pure functions over domain values (to come).
