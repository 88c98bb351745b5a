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
/// Where a record's columns are read from: a row of a query, or a sync
/// bundle's values (checked like a form's save without a trip through
/// SQLite).
pub trait Columns {
    /// Column `idx` as `T`, with rusqlite's errors and conversions.
    fn get<T: FromSql>(&self, idx: usize) -> rusqlite::Result<T>;
}

impl Columns for rusqlite::Row<'_> {
    fn get<T: FromSql>(&self, idx: usize) -> rusqlite::Result<T> {
        rusqlite::Row::get(self, idx)
    }
}

/// Reads a value as rusqlite's `Row::get` does, with its errors.
pub(crate) fn column_from<T: FromSql>(value: ValueRef<'_>, idx: usize) -> rusqlite::Result<T> {
    T::column_result(value).map_err(|e| match e {
        FromSqlError::InvalidType => {
            rusqlite::Error::InvalidColumnType(idx, String::new(), value.data_type())
        }
        FromSqlError::OutOfRange(i) => rusqlite::Error::IntegralValueOutOfRange(idx, i),
        FromSqlError::Other(err) => {
            rusqlite::Error::FromSqlConversionFailure(idx, value.data_type(), err)
        }
        other => rusqlite::Error::FromSqlConversionFailure(idx, value.data_type(), Box::new(other)),
    })
}

pub(crate) fn parse_list_col<T: PartialEq + Copy>(
    row: &(impl Columns + ?Sized),
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

/// A `YYYY-MM-DD` column read without chrono's general format parser (the
/// worklists read tens of thousands of dates); anything else falls back to it.
pub(crate) fn date_at(
    row: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<Option<chrono::NaiveDate>> {
    let text = match row.get_ref(i)? {
        ValueRef::Null => return Ok(None),
        ValueRef::Text(t) => t,
        _ => return row.get(i),
    };
    let num = |s: &[u8]| -> Option<u32> {
        s.iter().try_fold(0u32, |acc, b| {
            b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
        })
    };
    let fast = (text.len() == 10 && text[4] == b'-' && text[7] == b'-')
        .then(|| {
            let year = i32::try_from(num(&text[..4])?).ok()?;
            chrono::NaiveDate::from_ymd_opt(year, num(&text[5..7])?, num(&text[8..])?)
        })
        .flatten();
    match fast {
        Some(d) => Ok(Some(d)),
        None => row.get(i),
    }
}
