//! Shared test helpers: a fresh encrypted database per test, in a temp dir.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use tether::domain::*;
use tether::store::Store;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestDb {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

/// A new database with admin `admin` (password [`PASSWORD`]), open.
pub fn fresh() -> (TestDb, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tether.db");
    let init = Store::init(&path, "admin", "Admin", PASSWORD).expect("init");
    (TestDb { dir, path }, init.store)
}

/// Adds a user with `role` who can log in with [`PASSWORD`].
pub fn add_user(store: &mut Store, username: &str, role: Role) -> Saved<User> {
    store
        .add_user(
            User {
                username: username.into(),
                display_name: username.into(),
                role,
                active: true,
                language: "en".into(),
            },
            PASSWORD,
        )
        .expect("add user")
}

pub fn day(s: &str) -> chrono::NaiveDate {
    parse_date(s).expect("test date")
}

pub fn client(store: &mut Store, code: &str, nickname: Option<&str>) -> Saved<Client> {
    let mut c = Client::with_code(code);
    c.nickname = nickname.map(str::to_owned);
    store.create(c).expect("create client")
}

/// `to` enrolls `from` as an office laptop (trusted to relay and to change
/// users), as an admin does once when laptops join the organisation.
pub fn enroll(to: &mut Store, from: &Store) {
    enroll_as(to, from, tether::store::Trust::Office);
}

/// `to` enrolls `from` as `trust`.
pub fn enroll_as(to: &mut Store, from: &Store, trust: tether::store::Trust) {
    let key = from.device_key().expect("device key").public_hex();
    to.enroll_device(from.device_id(), Some(&key), trust)
        .expect("enroll");
}

/// Runs the `tether` binary with `args`, the password in `TETHER_PASSWORD`
/// and `TETHER_USER` set to `user` (or unset), no standard input.
pub fn tether_with(args: &[&str], password: &str, user: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tether"));
    c.args(args)
        .env("TETHER_PASSWORD", password)
        .stdin(Stdio::null());
    match user {
        Some(u) => c.env("TETHER_USER", u),
        None => c.env_remove("TETHER_USER"),
    };
    c.output().expect("run tether")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A refusal by the command line: non-zero exit and exactly one plain line
/// on stderr that mentions `needle`, never a panic.
pub fn assert_refused(o: &Output, needle: &str) {
    assert!(
        !o.status.success(),
        "expected failure, got success: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let err = stderr(o);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line on stderr, got: {err:?}"
    );
    assert!(
        err.contains(needle),
        "stderr {err:?} should mention {needle:?}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// The recovery key a command printed (the line after "Recovery key").
pub fn printed_recovery_key(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .skip_while(|l| !l.starts_with("Recovery key"))
        .nth(1)
        .expect("the new key is printed")
        .trim()
        .to_owned()
}
