use chrono::NaiveDate;

/// Why a record cannot be saved. Every variant names the field it is about.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("{field}: required")]
    Required { field: &'static str },
    #[error("{field}: {date} is in the future")]
    InFuture {
        field: &'static str,
        date: NaiveDate,
    },
    #[error("{field}: {end} is before the start {start}")]
    EndBeforeStart {
        field: &'static str,
        start: NaiveDate,
        end: NaiveDate,
    },
    #[error(
        "start: this stay overlaps another detention of the same client ({other}); stays may share only a transfer day"
    )]
    OverlappingDetention { field: &'static str, other: String },
    #[error("{field}: {value} is negative")]
    Negative { field: &'static str, value: f64 },
    #[error("{field}: no client with code {code}")]
    UnknownClientCode { field: &'static str, code: String },
    #[error("{field}: \"{value}\" is not one of: {allowed}")]
    InvalidValue {
        field: &'static str,
        value: String,
        allowed: String,
    },
    #[error("{field}: {reason}")]
    OutOfRange { field: &'static str, reason: String },
    #[error("{field}: another client already has the code {code}")]
    DuplicateCode { field: &'static str, code: String },
    #[error("{field}: {reason}")]
    Inconsistent { field: &'static str, reason: String },
    #[error("{field}: longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
}

impl ValidationError {
    /// The field the problem is about, as named in forms and import files.
    pub fn field(&self) -> &'static str {
        match self {
            ValidationError::Required { field }
            | ValidationError::InFuture { field, .. }
            | ValidationError::EndBeforeStart { field, .. }
            | ValidationError::OverlappingDetention { field, .. }
            | ValidationError::Negative { field, .. }
            | ValidationError::UnknownClientCode { field, .. }
            | ValidationError::InvalidValue { field, .. }
            | ValidationError::OutOfRange { field, .. }
            | ValidationError::DuplicateCode { field, .. }
            | ValidationError::Inconsistent { field, .. }
            | ValidationError::TooLong { field, .. } => field,
        }
    }
}
