//! Replays every saved fuzz input through the code its fuzz target runs
//! (`fuzz/src/lib.rs`, included here): the committed seeds
//! (`fuzz/seeds/<target>/`) and the inputs that once crashed
//! (`tests/fuzz-regressions/<target>/`). Each must return, `Ok` or `Err`,
//! without a panic.

#[path = "../../fuzz/src/lib.rs"]
mod harness;

use std::path::{Path, PathBuf};

/// What a fuzz target runs on one input.
type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 6] = [
    ("bundle_open", harness::bundle_open),
    ("bundle_merge", harness::bundle_merge),
    ("csv_parse", harness::csv_parse),
    ("xlsx_parse", harness::xlsx_parse),
    ("xlsx_sheet", harness::xlsx_sheet),
    ("keyfile_parse", harness::keyfile_parse),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs each input through its target; returns the inputs it panicked on.
fn replay(inputs: &[(Target, PathBuf)]) -> Vec<String> {
    let mut panicked = Vec::new();
    for (run, path) in inputs {
        let bytes = std::fs::read(path).expect("read input");
        if std::panic::catch_unwind(|| run(&bytes)).is_err() {
            panicked.push(path.display().to_string());
        }
    }
    panicked
}

#[test]
fn saved_fuzz_inputs_return_without_a_panic() {
    let mut inputs = Vec::new();
    for (name, run) in TARGETS {
        let mut saved = files(&root().join("fuzz/seeds").join(name));
        assert!(!saved.is_empty(), "no seeds for {name}");
        saved.extend(files(&root().join("tests/fuzz-regressions").join(name)));
        inputs.extend(saved.into_iter().map(|p| (run, p)));
    }
    let panicked = replay(&inputs);
    assert!(panicked.is_empty(), "panicked on {panicked:#?}");
}

/// The sheets that overflowed calamine's cell arithmetic are refused with
/// a sentence a coordinator can act on, not a crash and not a table with
/// cells in the wrong places.
#[test]
fn sheets_that_overflow_calamine_are_refused_with_a_reason() {
    let dir = root().join("tests/fuzz-regressions/xlsx_sheet");
    let overflowing: Vec<PathBuf> = files(&dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("calamine_"))
        })
        .collect();
    assert_eq!(overflowing.len(), 5, "{overflowing:?}");
    let work = tempfile::tempdir().expect("temp dir");
    for (n, sheet) in overflowing.iter().enumerate() {
        let path = work.path().join(format!("{n}.xlsx"));
        let bytes = std::fs::read(sheet).expect("read input");
        std::fs::write(&path, harness::workbook_with_sheet(&bytes)).expect("write workbook");
        match tether::import::read_spreadsheet(&path) {
            Err(tether::import::ReadError::Spreadsheet(reason)) => assert!(
                reason.contains("cell reference or the sheet's dimension"),
                "{}: {reason}",
                sheet.display()
            ),
            other => panic!("{}: {other:?}", sheet.display()),
        }
    }
}
