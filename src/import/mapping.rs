//! Which file column feeds which column of the kind.

use super::limits::echo;
use super::table::trim_ascii;
use super::{ImportKind, Problem, columns, normalize_name};

/// What one column of the file is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assign {
    /// It feeds this column of the kind.
    Column(&'static str),
    /// It is ignored.
    Skip,
    /// Its header names no column of the kind: a problem until mapped or skipped.
    Unmatched,
}

/// For each header of a file, what it is used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    kind: ImportKind,
    assigns: Vec<Assign>,
}

impl Mapping {
    /// Maps each header to the column of the same name (case-insensitive,
    /// trimmed, spaces and dashes as `_`). Headers without a name are
    /// skipped; other headers stay [`Assign::Unmatched`].
    pub fn auto(kind: ImportKind, headers: &[String]) -> Mapping {
        let assigns = headers
            .iter()
            .map(|h| {
                let norm = normalize_name(h);
                if norm.is_empty() {
                    return Assign::Skip;
                }
                columns(kind)
                    .iter()
                    .find(|(name, _)| *name == norm)
                    .map_or(Assign::Unmatched, |(name, _)| Assign::Column(name))
            })
            .collect();
        Mapping { kind, assigns }
    }

    pub fn kind(&self) -> ImportKind {
        self.kind
    }

    /// What the file's column `index` is used for.
    pub fn get(&self, index: usize) -> Assign {
        self.assigns
            .get(index)
            .copied()
            .unwrap_or(Assign::Unmatched)
    }

    /// Changes what the file's column `index` is used for.
    pub fn set(&mut self, index: usize, assign: Assign) {
        if index >= self.assigns.len() {
            self.assigns.resize(index + 1, Assign::Unmatched);
        }
        self.assigns[index] = assign;
    }

    /// Maps the file's column `index` to the kind's column named `column`;
    /// `false` (and no change) when the kind has no such column.
    pub fn set_column(&mut self, index: usize, column: &str) -> bool {
        match columns(self.kind).iter().find(|(name, _)| *name == column) {
            Some((name, _)) => {
                self.set(index, Assign::Column(name));
                true
            }
            None => false,
        }
    }

    /// The problems of the header row under this mapping: unknown columns,
    /// a column fed twice, required columns missing. All on row 1.
    pub fn problems(&self, headers: &[String]) -> Vec<Problem> {
        let known: Vec<&str> = columns(self.kind).iter().map(|(n, _)| *n).collect();
        let mut out = Vec::new();
        let mut fed: Vec<(&str, String)> = Vec::new();
        for (i, header) in headers.iter().enumerate() {
            let shown = header_name(headers, i);
            match self.get(i) {
                Assign::Skip => {}
                Assign::Unmatched => out.push(Problem::new(
                    1,
                    shown,
                    format!(
                        "unknown column \"{}\"; map it to a column or skip it ({} columns are: {})",
                        echo(trim_ascii(header)),
                        self.kind,
                        known.join(", ")
                    ),
                )),
                Assign::Column(name) if !known.contains(&name) => out.push(Problem::new(
                    1,
                    shown,
                    format!("{} files have no column \"{name}\"", self.kind),
                )),
                Assign::Column(name) => match fed.iter().find(|(n, _)| *n == name) {
                    Some((_, first)) => out.push(Problem::new(
                        1,
                        shown,
                        format!("column \"{name}\" is already given by column \"{first}\""),
                    )),
                    None => fed.push((name, shown_header(headers, i))),
                },
            }
        }
        for (name, required) in columns(self.kind) {
            if *required && !fed.iter().any(|(n, _)| n == name) {
                out.push(Problem::new(
                    1,
                    *name,
                    format!("required column \"{name}\" is missing"),
                ));
            }
        }
        out
    }

    /// Where each of the kind's columns is in the file, for reading rows.
    pub(crate) fn columns(&self, headers: &[String]) -> Columns {
        let kind_columns = columns(self.kind);
        let mut index = vec![None; kind_columns.len()];
        let mut shown: Vec<String> = kind_columns.iter().map(|(n, _)| (*n).to_owned()).collect();
        let mut unnamed = Vec::new();
        for (i, header) in headers.iter().enumerate() {
            match self.get(i) {
                Assign::Column(name) => {
                    if let Some(k) = kind_columns.iter().position(|(n, _)| *n == name)
                        && index[k].is_none()
                    {
                        index[k] = Some(i);
                        shown[k] = header_name(headers, i);
                    }
                }
                Assign::Skip if trim_ascii(header).is_empty() => unnamed.push(i),
                Assign::Skip | Assign::Unmatched => {}
            }
        }
        Columns {
            kind: self.kind,
            index,
            shown,
            unnamed,
            width: headers.len(),
        }
    }
}

/// A header as shown in problems: as written (cut to a few words), or its
/// position when blank.
fn header_name(headers: &[String], index: usize) -> String {
    match headers.get(index).map(|h| trim_ascii(h)) {
        Some(h) if !h.is_empty() => echo(h),
        _ => format!("column {}", index + 1),
    }
}

/// A header as another problem quotes it: as written, cut to a few words.
fn shown_header(headers: &[String], index: usize) -> String {
    headers
        .get(index)
        .map(|h| echo(trim_ascii(h)))
        .unwrap_or_default()
}

/// A mapping applied to a file's headers: where each of the kind's columns
/// is read from, and the names problems should use.
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    pub(crate) kind: ImportKind,
    /// For each of the kind's columns, the file column it is read from.
    index: Vec<Option<usize>>,
    /// For each of the kind's columns, its name as the file shows it.
    shown: Vec<String>,
    /// File columns with a blank header: their cells must be empty.
    unnamed: Vec<usize>,
    /// Number of headers: cells past them must be empty too.
    width: usize,
}

impl Columns {
    fn position(&self, name: &str) -> Option<usize> {
        columns(self.kind).iter().position(|(n, _)| *n == name)
    }

    /// The file column that feeds the kind's column `name`.
    pub(crate) fn file_index(&self, name: &str) -> Option<usize> {
        self.position(name).and_then(|k| self.index[k])
    }

    /// Whether the file has the kind's column `name`.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.file_index(name).is_some()
    }

    /// The name problems use for the kind's column (or a domain field) `name`.
    pub(crate) fn shown(&self, name: &str) -> String {
        self.position(name)
            .map_or_else(|| name.to_owned(), |k| self.shown[k].clone())
    }

    /// Where a problem's column (as [`Columns::shown`] names it) is in the
    /// file, for listing a row's problems left to right.
    pub(crate) fn order(&self, shown: &str) -> usize {
        self.shown
            .iter()
            .position(|s| s == shown)
            .and_then(|k| self.index[k])
            .or_else(|| {
                shown
                    .strip_prefix("column ")
                    .and_then(|n| n.parse::<usize>().ok())
                    .map(|n| n.saturating_sub(1))
            })
            .unwrap_or(usize::MAX)
    }

    /// File columns whose cells must be empty: blank headers and past the last header.
    pub(crate) fn must_be_empty(&self, row_len: usize) -> impl Iterator<Item = usize> + '_ {
        self.unnamed
            .iter()
            .copied()
            .chain(self.width..row_len.max(self.width))
    }
}
