//! Khmer translations of the UI strings, keyed by the English text.

pub const KM: &[(&str, &str)] = &[];
