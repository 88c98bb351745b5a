//! Spreadsheet import (shared/IMPORT.md): read a CSV or XLSX file into a
//! [`Table`], map its headers to the columns of one [`ImportKind`]
//! ([`Mapping`]), and hand both to [`Store::import`](crate::store::Store::import),
//! which checks every row, reports every [`Problem`] at once, and writes
//! the whole file in one transaction or nothing.
//!
//! This module holds no SQL: reading files, columns, mapping, and turning
//! cells into domain records are plain functions; the store resolves
//! references (client codes, usernames, locations, enrollments) and writes.
//!
//! A file is untrusted input: its size is capped while it is read, a
//! problem never repeats more than a few words of a cell, and only the
//! first problems are kept and listed ([`limits`]).

pub mod limits;
mod mapping;
pub(crate) mod parse;
mod table;
mod xlsx;

pub(crate) use mapping::Columns;
pub use mapping::{Assign, Mapping};
pub use table::{ReadError, Row, Table, read_csv, read_file};
pub use xlsx::read_spreadsheet;

use std::sync::atomic::AtomicBool;

/// The kinds of record a file can hold, one kind per file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportKind {
    Locations,
    Clients,
    Contacts,
    Arrests,
    Detentions,
    Enrollments,
    ServiceEvents,
}

/// A column of an import file: its name and whether it is required.
pub type Column = (&'static str, bool);

impl ImportKind {
    /// Every kind, in the order files should be imported.
    pub const ALL: &'static [ImportKind] = &[
        ImportKind::Locations,
        ImportKind::Clients,
        ImportKind::Contacts,
        ImportKind::Arrests,
        ImportKind::Detentions,
        ImportKind::Enrollments,
        ImportKind::ServiceEvents,
    ];

    /// The name used on the command line (`--kind`) and in audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Locations => "locations",
            ImportKind::Clients => "clients",
            ImportKind::Contacts => "contacts",
            ImportKind::Arrests => "arrests",
            ImportKind::Detentions => "detentions",
            ImportKind::Enrollments => "enrollments",
            ImportKind::ServiceEvents => "service_events",
        }
    }

    /// Parses a kind's name, case-insensitive; spaces and dashes count as `_`.
    pub fn parse(text: &str) -> Option<ImportKind> {
        let norm = normalize_name(text);
        ImportKind::ALL.iter().copied().find(|k| k.as_str() == norm)
    }
}

impl std::fmt::Display for ImportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A header or name compared loosely: trimmed, lower-case, spaces and
/// dashes as `_`.
pub(crate) fn normalize_name(text: &str) -> String {
    text.trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The columns of a kind, in the order of IMPORT.md; `true` marks a required one.
pub fn columns(kind: ImportKind) -> &'static [Column] {
    match kind {
        ImportKind::Locations => &[
            ("name", true),
            ("kind", true),
            ("province", false),
            ("methadone", false),
            ("art", false),
            ("ngo_access", false),
        ],
        ImportKind::Clients => &[
            ("code", true),
            ("nickname", false),
            ("sex", true),
            ("birth_year", false),
            ("phone", false),
            ("province", false),
            ("district", false),
            ("key_populations", false),
            ("hiv_status", false),
            ("assigned_worker", false),
            ("registered_on", false),
        ],
        ImportKind::Contacts => &[
            ("client_code", true),
            ("date", true),
            ("kind", true),
            ("worker", false),
            ("needles_syringes", false),
            ("condoms", false),
            ("naloxone", false),
            ("hiv_test", false),
            ("hiv_result", false),
            ("referrals", false),
            ("notes", false),
        ],
        ImportKind::Arrests => &[
            ("client_code", true),
            ("date", true),
            ("province", false),
            ("place", false),
            ("authority", false),
            ("reasons", false),
            ("abuse", false),
            ("outcome", false),
        ],
        ImportKind::Detentions => &[
            ("client_code", true),
            ("location", true),
            ("start", true),
            ("end", false),
            ("basis", false),
            ("release_reason", false),
        ],
        ImportKind::Enrollments => &[
            ("client_code", true),
            ("service", true),
            ("provider", false),
            ("number", false),
            ("start", true),
            ("end", false),
            ("status", false),
        ],
        ImportKind::ServiceEvents => &[
            ("client_code", true),
            ("service", true),
            ("date", true),
            ("kind", true),
            ("days_supplied", false),
            ("dose_mg", false),
            ("cause", false),
        ],
    }
}

/// The header line of an empty file of this kind ("Download template").
pub fn template_csv(kind: ImportKind) -> String {
    let names: Vec<_> = columns(kind)
        .iter()
        .map(|(name, _)| crate::reports::output::csv_text(name))
        .collect();
    format!("{}\n", names.join(","))
}

/// One thing wrong with an import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file's row: 1 is the header, the first data row is 2.
    pub row: usize,
    /// The column as the file names it (or the expected column's name).
    pub column: String,
    /// What is wrong, in plain words.
    pub reason: String,
}

impl Problem {
    /// A problem; the column's name is cut to [`limits::ECHO_CHARS`]
    /// characters and the reason to [`limits::MAX_REASON_CHARS`], so that
    /// no file can make a problem long.
    pub fn new(row: usize, column: impl Into<String>, reason: impl Into<String>) -> Self {
        let column = column.into();
        let reason = reason.into();
        Problem {
            row,
            column: if column.chars().count() > limits::ECHO_CHARS {
                limits::echo(&column)
            } else {
                column
            },
            reason: if reason.len() > limits::MAX_REASON_CHARS {
                limits::cut(&reason, limits::MAX_REASON_CHARS)
            } else {
                reason
            },
        }
    }
}

/// Problems as an import finds them: the first [`limits::KEPT_PROBLEMS`]
/// are kept, every one is counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    kept: Vec<Problem>,
    count: usize,
}

impl Problems {
    pub fn new() -> Self {
        Problems::default()
    }

    /// Notes a problem (kept while fewer than [`limits::KEPT_PROBLEMS`] are).
    pub fn push(&mut self, problem: Problem) {
        self.count += 1;
        if self.kept.len() < limits::KEPT_PROBLEMS {
            self.kept.push(problem);
        }
    }

    /// How many problems were found.
    pub fn count(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The kept problems and how many more were found.
    pub fn into_parts(self) -> (Vec<Problem>, usize) {
        let more = self.count - self.kept.len();
        (self.kept, more)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "row {}, column \"{}\": {}",
            self.row, self.column, self.reason
        )
    }
}

/// How an import is run.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The file's name, for the audit entry.
    pub file_name: String,
    /// Check everything and write nothing.
    pub dry_run: bool,
}

/// Progress and cancelling for an import running on a worker thread.
pub struct Control<'a> {
    /// Called now and then with (rows done, rows in the file).
    pub progress: &'a dyn Fn(usize, usize),
    /// Set to stop the import; nothing is written then.
    pub cancel: &'a AtomicBool,
}

static NEVER: AtomicBool = AtomicBool::new(false);

fn no_progress(_done: usize, _total: usize) {}

impl Control<'static> {
    /// No progress reports, no cancelling.
    pub fn none() -> Self {
        Control {
            progress: &no_progress,
            cancel: &NEVER,
        }
    }
}

/// How an import ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every row was fine and the new records were written.
    Imported,
    /// A dry run found nothing wrong; nothing was written.
    Checked,
    /// Problems were found; nothing was written.
    Refused,
    /// Cancelled before the end; nothing was written.
    Cancelled,
}

/// What an import did, or (dry run, refused) would have done.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    pub kind: ImportKind,
    pub outcome: Outcome,
    /// Data rows read (blank rows are not counted).
    pub rows: usize,
    /// Records written (on a dry run: that would be written).
    pub added: usize,
    /// Rows whose record is in the database already (imported before).
    pub already_present: usize,
    /// The problems, by row: every one, or the first
    /// [`limits::KEPT_PROBLEMS`] when there are more.
    pub problems: Vec<Problem>,
    /// Problems found past those in `problems` (counted, not kept).
    pub more_problems: usize,
}

impl ImportReport {
    /// A report with nothing done yet.
    pub fn new(kind: ImportKind) -> Self {
        ImportReport {
            kind,
            outcome: Outcome::Refused,
            rows: 0,
            added: 0,
            already_present: 0,
            problems: Vec::new(),
            more_problems: 0,
        }
    }

    /// How many problems were found.
    pub fn problem_count(&self) -> usize {
        self.problems.len() + self.more_problems
    }

    /// The problems to list to people: the first [`limits::SHOWN_PROBLEMS`].
    pub fn shown_problems(&self) -> &[Problem] {
        &self.problems[..self.problems.len().min(limits::SHOWN_PROBLEMS)]
    }

    /// How many problems are not in [`ImportReport::shown_problems`].
    pub fn unshown_problems(&self) -> usize {
        self.problem_count() - self.shown_problems().len()
    }

    /// The problem lines for people: the first [`limits::SHOWN_PROBLEMS`],
    /// then `and N more problems` when there are more.
    pub fn problem_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .shown_problems()
            .iter()
            .map(ToString::to_string)
            .collect();
        match self.unshown_problems() {
            0 => {}
            1 => lines.push("and 1 more problem".to_owned()),
            n => lines.push(format!("and {n} more problems")),
        }
        lines
    }

    /// One line for people: what was added, or why nothing was.
    pub fn summary(&self) -> String {
        match self.outcome {
            Outcome::Imported => format!(
                "added {}, already present {}",
                self.added, self.already_present
            ),
            Outcome::Checked => format!(
                "dry run, nothing written: would add {}, already present {}",
                self.added, self.already_present
            ),
            Outcome::Refused => format!(
                "nothing imported: {} problem{}",
                self.problem_count(),
                if self.problem_count() == 1 { "" } else { "s" }
            ),
            Outcome::Cancelled => "cancelled: nothing imported".to_owned(),
        }
    }
}
