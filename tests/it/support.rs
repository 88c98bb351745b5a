//! Shared test helpers: a fresh encrypted database per test, in a temp dir.
#![allow(dead_code)]

use std::path::PathBuf;
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
