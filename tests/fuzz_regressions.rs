//! Replays every saved fuzz input through the code its fuzz target runs
//! (`fuzz/src/lib.rs`, included here): the committed seeds
//! (`fuzz/seeds/<target>/`) and the inputs that once crashed
//! (`tests/fuzz-regressions/<target>/`). Each must return, `Ok` or `Err`,
//! without a panic.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::{Path, PathBuf};

/// Inputs that still crash the process (an abort, which no test can
/// catch), with where they are being fixed. They are left out of the
/// replays below and run by their own ignored tests.
const STILL_CRASHING: &[&str] = &[];

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

/// Every saved input of `target`, seeds first.
fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = files(&root.join("fuzz/seeds").join(target));
    all.extend(files(&root.join("tests/fuzz-regressions").join(target)));
    all
}

/// What a fuzz target runs on one input.
type Target = fn(&[u8]);

/// Runs `run` on every saved input of `target`; returns the inputs it
/// panicked on.
fn replay(target: &str, run: Target) -> Vec<String> {
    let inputs = inputs(target);
    assert!(!inputs.is_empty(), "no saved inputs for {target}");
    let mut panicked = Vec::new();
    for path in inputs {
        let name = path.display().to_string();
        if STILL_CRASHING.iter().any(|s| name.ends_with(s)) {
            continue;
        }
        let bytes = std::fs::read(&path).expect("read input");
        if std::panic::catch_unwind(|| run(&bytes)).is_err() {
            panicked.push(name);
        }
    }
    panicked
}

/// One test for every target, one after another: they share the
/// harness's files, removed at the end.
#[test]
fn saved_fuzz_inputs_return_without_a_panic() {
    let targets: [(&str, Target); 5] = [
        ("bundle_open", harness::bundle_open),
        ("bundle_merge", harness::bundle_merge),
        ("csv_parse", harness::csv_parse),
        ("xlsx_parse", harness::xlsx_parse),
        ("keyfile_parse", harness::keyfile_parse),
    ];
    let panicked: Vec<String> = targets
        .iter()
        .flat_map(|(target, run)| replay(target, *run))
        .collect();
    let _ = std::fs::remove_dir_all(harness::work_dir());
    assert!(panicked.is_empty(), "panicked on {panicked:#?}");
}
