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
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
                Ok(i64::try_from(v).map_or(Value::Real(v as f64), Value::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Real(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Text(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Value, E> {
                Ok(Value::Text(v))
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
                Ok(Value::Blob(v.to_vec()))
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
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
