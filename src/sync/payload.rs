//! What a bundle carries: tables of rows of SQLite values, as MessagePack
//! (format 3) or JSON (format 2), and a writer that puts rows straight from
//! the database into MessagePack.

use serde::{Deserialize, Serialize};

/// One SQLite value: nil or null, a number, a string, or a blob (MessagePack
/// binary; in format 2's JSON, an array of bytes).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Real(f) => s.serialize_f64(*f),
            Value::Text(t) => s.serialize_str(t),
            Value::Blob(b) => s.serialize_bytes(b),
        }
    }
}

thread_local! {
    /// Bytes of memory a payload being decoded on this thread may still
    /// take (None: no decode under way), and whether it ran out.
    static DECODE_BUDGET: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
    static OVER_BUDGET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Memory one decoded value takes beside its text or bytes (the value and
/// its share of its row), as [`decode_within`] counts it.
pub const VALUE_COST: u64 = 40;

/// Runs `decode` with at most `budget` bytes of decoded values: past that,
/// each further value fails to decode, so a payload of tiny values (a nil
/// is one byte, its value 32) cannot take memory out of proportion to its
/// size. Returns what `decode` did and whether the budget ran out.
pub fn decode_within<T>(budget: u64, decode: impl FnOnce() -> T) -> (T, bool) {
    DECODE_BUDGET.with(|b| b.set(Some(budget)));
    OVER_BUDGET.with(|o| o.set(false));
    let out = decode();
    DECODE_BUDGET.with(|b| b.set(None));
    (out, OVER_BUDGET.with(|o| o.replace(false)))
}

/// Takes `bytes` from the decode budget; false when there are not enough.
fn charge(bytes: usize) -> bool {
    DECODE_BUDGET.with(|b| match b.get() {
        None => true,
        Some(left) => {
            let cost = VALUE_COST.saturating_add(bytes as u64);
            if left >= cost {
                b.set(Some(left - cost));
                true
            } else {
                OVER_BUDGET.with(|o| o.set(true));
                false
            }
        }
    })
}

fn over<E: serde::de::Error>() -> E {
    E::custom("the decoded values are too large for the bundle's size")
}

/// Read by the value's own type in one pass. (serde's `untagged`
/// buffers every value and tries each variant in turn, building an error
/// for each miss: a third of a first full sync's merge.)
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("null, a number, a string or an array of bytes")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
                if !charge(0) {
                    return Err(over());
                }
                Ok(Value::Null)
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
                self.visit_unit()
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
                if !charge(0) {
                    return Err(over());
                }
                Ok(Value::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
                if !charge(0) {
                    return Err(over());
                }
                Ok(i64::try_from(v).map_or(Value::Real(v as f64), Value::Int))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
                if !charge(0) {
                    return Err(over());
                }
                Ok(Value::Real(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
                if !charge(v.len()) {
                    return Err(over());
                }
                Ok(Value::Text(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
                if !charge(v.len()) {
                    return Err(over());
                }
                Ok(Value::Text(v))
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Value, E> {
                if !charge(v.len()) {
                    return Err(over());
                }
                Ok(Value::Blob(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Value, E> {
                if !charge(v.len()) {
                    return Err(over());
                }
                Ok(Value::Blob(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Value, A::Error> {
                let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(b) = seq.next_element::<u8>()? {
                    bytes.push(b);
                }
                if !charge(bytes.len()) {
                    return Err(over());
                }
                Ok(Value::Blob(bytes))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The rows of one table: the column names, then each row's values in that order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableRows {
    pub table: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// What a bundle carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Payload {
    /// For each device the sender has merged from: the highest stamp of
    /// that device's it has merged (so the device can send less next time).
    pub merged: Vec<(String, i64)>,
    pub tables: Vec<TableRows>,
    /// In a bundle the office writes for one field laptop: that laptop's
    /// scope, the ids (hex) of the workers whose clients it holds. None in
    /// every other bundle (and in those before format 4).
    /// (`["all"]` in an office laptop's bundle for the laptops that hold
    /// every client.)
    #[serde(default)]
    pub scope: Option<Vec<String>>,
    /// In a bundle for one field laptop: the clients (ids, hex) it held
    /// that are no longer in its scope, to be purged.
    #[serde(default)]
    pub leaving: Vec<String>,
}

impl Payload {
    /// How many records it carries.
    pub fn records(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }
}

/// One table of a payload written row by row, straight from the database,
/// in the bytes `rmp_serde` gives a [`TableRows`] (a bundle is written
/// without holding every value of it as a [`Value`] first).
pub struct TableWriter {
    pub(super) table: String,
    pub(super) columns: Vec<String>,
    pub(super) rows: u32,
    pub(super) bytes: Vec<u8>,
}

impl TableWriter {
    pub fn new(table: &str, columns: Vec<String>) -> TableWriter {
        TableWriter {
            table: table.to_owned(),
            columns,
            rows: 0,
            bytes: Vec::new(),
        }
    }

    /// Starts a row: its values follow, one per column, in order.
    pub fn row(&mut self) {
        self.rows += 1;
        // Writing to a Vec cannot fail.
        let _ = rmp::encode::write_array_len(&mut self.bytes, self.columns.len() as u32);
    }

    pub fn null(&mut self) {
        let _ = rmp::encode::write_nil(&mut self.bytes);
    }

    pub fn int(&mut self, v: i64) {
        let _ = rmp::encode::write_sint(&mut self.bytes, v);
    }

    pub fn real(&mut self, v: f64) {
        let _ = rmp::encode::write_f64(&mut self.bytes, v);
    }

    pub fn text(&mut self, v: &str) {
        let _ = rmp::encode::write_str(&mut self.bytes, v);
    }

    pub fn blob(&mut self, v: &[u8]) {
        let _ = rmp::encode::write_bin(&mut self.bytes, v);
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn rows(&self) -> usize {
        self.rows as usize
    }
}
