//! Conversions between domain values and SQLite columns.

use crate::domain::*;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

macro_rules! sql_text_enum {
    ($($name:ident),+ $(,)?) => {$(
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::Borrowed(ValueRef::Text(self.as_str().as_bytes())))
            }
        }
        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                $name::parse(text).ok_or_else(|| FromSqlError::Other(
                    format!("unknown {} value {text:?}", stringify!($name)).into(),
                ))
            }
        }
    )+};
}

sql_text_enum!(
    Role,
    Sex,
    HivStatus,
    CaseStatus,
    ContactKind,
    HivTest,
    HivResult,
    Authority,
    ArrestOutcome,
    LocationKind,
    Availability,
    NgoAccess,
    DetentionBasis,
    ReleaseReason,
    Service,
    EnrollmentStatus,
    ServiceEventKind,
    InterruptionCause,
    AuditAction,
);

/// A `;`-joined list column.
pub(crate) fn list<T: Copy>(items: &[T], key: impl Fn(T) -> &'static str) -> String {
    join_list(items, key)
}

/// Reads a `;`-joined list column; unknown values are an error, not dropped.
pub(crate) fn parse_list_col<T: PartialEq + Copy>(
    row: &rusqlite::Row<'_>,
    idx: usize,
    parse: impl Fn(&str) -> Option<T>,
) -> rusqlite::Result<Vec<T>> {
    let text: String = row.get(idx)?;
    parse_list(&text, parse).map_err(|bad| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            format!("unknown list value {bad:?}").into(),
        )
    })
}
