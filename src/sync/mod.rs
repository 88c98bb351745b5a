//! Encrypted sync bundles between laptops (to come).
